#include "plugins/ml/safetensors/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace radflow::ml::safetensors {
namespace {

Status io_error(const std::string& what, const std::string& path) {
  return Status::error("safetensors_io", what + " " + path + ": " + std::strerror(errno), path);
}

}  // namespace

Result<std::unique_ptr<MappedFile>> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path);
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    Status status = io_error("cannot stat", path);
    ::close(fd);
    return status;
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status::error("safetensors_io", path + " is not a regular file", path);
  }
  const auto size = static_cast<size_t>(info.st_size);
  if (size == 0) {  // mmap rejects length 0; callers report the file as too short
    ::close(fd);
    return std::unique_ptr<MappedFile>(new MappedFile(nullptr, 0));
  }
  void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  Status map_status = address == MAP_FAILED ? io_error("cannot mmap", path) : Status();
  ::close(fd);  // the mapping keeps its own reference to the file
  if (!map_status.ok()) return map_status;
  return std::unique_ptr<MappedFile>(new MappedFile(static_cast<const uint8_t*>(address), size));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace radflow::ml::safetensors
