// SafetensorsFile: a validated, memory-mapped, read-only safetensors file.
//
// Format: 8-byte little-endian header length N, N bytes of JSON
//   {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}   (metadata optional, strings only)
// then the data section; offsets are relative to its start.
//
// open() checks everything before returning, so tensor() can only fail on an
// unknown name. Rejected (code "safetensors_malformed" unless noted): a file shorter
// than 8 bytes; a header length beyond the file or over 100 MB; a header that is not
// a JSON object; a tensor entry without dtype/shape/data_offsets of the right types;
// an unknown dtype ("safetensors_unknown_dtype"); a negative dim; data_offsets that
// are not [begin, end] with begin <= end; offsets past the data section; a byte
// count != product(shape) * dtype size; overlapping tensors; gaps between tensors or
// unused bytes after the last one (the reference implementation rejects these too).
// Errors name the file (Error::path) and the tensor. I/O failures: "safetensors_io".
//
// Copies share one mapping (shared_ptr), which lives as long as any copy; the
// TensorViews point into it. All methods are const and safe to call concurrently.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/ml/safetensors/tensor_view.h"

namespace radflow::ml::safetensors {

class MappedFile;

inline constexpr size_t kMaxHeaderBytes = 100u * 1000u * 1000u;  // 100 MB, as the reference

class SafetensorsFile {
 public:
  static Result<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Tensor names in ascending byte order.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  size_t size() const { return tensors_.size(); }
  // Errors: "safetensors_tensor_not_found".
  Result<TensorView> tensor(const std::string& name) const;

 private:
  struct Entry {
    DType dtype;
    std::vector<int64_t> shape;
    size_t begin;  // absolute offsets into the mapping
    size_t end;
  };

  SafetensorsFile() = default;
  Status parse(const uint8_t* bytes, size_t size);

  std::string path_;
  std::shared_ptr<const MappedFile> file_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, Entry> tensors_;
};

}  // namespace radflow::ml::safetensors
