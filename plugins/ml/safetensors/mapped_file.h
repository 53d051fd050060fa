// MappedFile: a read-only memory mapping of a whole file (POSIX mmap), unmapped on
// destruction. Internal to safetensors/. Move-only; the bytes are immutable, so
// concurrent reads are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace radflow::ml::safetensors {

class MappedFile {
 public:
  // Errors: "safetensors_io" when the file cannot be opened, stat'ed or mapped.
  // An empty file maps to size 0 and data() == nullptr.
  static Result<std::unique_ptr<MappedFile>> open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  const uint8_t* data_;
  size_t size_;
};

}  // namespace radflow::ml::safetensors
