#include "plugins/ml/safetensors/safetensors_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

namespace radflow::ml::safetensors {
namespace {

Status invalid(const std::string& path, const std::string& what) {
  return Status::error("safetensors_invalid_tensor", path + ": " + what, path);
}

Status validate(const std::string& path, const std::vector<TensorToWrite>& tensors) {
  std::set<std::string> seen;
  for (const TensorToWrite& t : tensors) {
    if (t.name.empty()) return invalid(path, "a tensor has an empty name");
    if (t.name == "__metadata__") return invalid(path, "'__metadata__' is reserved");
    if (!seen.insert(t.name).second) return invalid(path, "duplicate tensor '" + t.name + "'");
    const std::optional<int64_t> count = element_count(t.shape);
    if (!count) return invalid(path, "tensor '" + t.name + "' has a negative or huge shape");
    if (static_cast<uint64_t>(*count) * dtype_size_bytes(t.dtype) != t.size_bytes) {
      return invalid(path, "tensor '" + t.name + "' has " + std::to_string(t.size_bytes) +
                               " bytes, its shape and dtype need " +
                               std::to_string(*count * static_cast<int64_t>(dtype_size_bytes(t.dtype))));
    }
    if (t.data == nullptr && t.size_bytes != 0) {
      return invalid(path, "tensor '" + t.name + "' has no data");
    }
  }
  return Status();
}

// Writes all of [data, data + size) to fd, retrying short writes and EINTR.
bool write_all(int fd, const void* data, size_t size) {
  const auto* cursor = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, cursor, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    cursor += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

}  // namespace

Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  RF_RETURN_IF_ERROR(validate(path, tensors));
  std::vector<const TensorToWrite*> sorted;
  for (const TensorToWrite& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorToWrite* a, const TensorToWrite* b) { return a->name < b->name; });

  // ordered_json keeps insertion order, so the header reads in file order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite* t : sorted) {
    header[t->name] = {{"dtype", dtype_name(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->size_bytes}}};
    offset += t->size_bytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  uint8_t length_bytes[8];
  for (int i = 0; i < 8; ++i) {
    length_bytes[i] = static_cast<uint8_t>(static_cast<uint64_t>(header_text.size()) >> (8 * i));
  }

  const std::string tmp_path = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::error("safetensors_io",
                         "cannot create " + tmp_path + ": " + std::strerror(errno), path);
  }
  bool ok = write_all(fd, length_bytes, sizeof length_bytes) &&
            write_all(fd, header_text.data(), header_text.size());
  for (const TensorToWrite* t : sorted) {
    if (!ok) break;
    ok = write_all(fd, t->data, t->size_bytes);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved_errno = errno;
  ok = (::close(fd) == 0) && ok;
  if (ok && ::rename(tmp_path.c_str(), path.c_str()) == 0) return Status();
  const std::string reason = std::strerror(ok ? errno : saved_errno);
  ::unlink(tmp_path.c_str());
  return Status::error("safetensors_io", "cannot write " + path + ": " + reason, path);
}

}  // namespace radflow::ml::safetensors
