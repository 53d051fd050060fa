#include "plugins/ml/safetensors/safetensors_file.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "plugins/ml/safetensors/mapped_file.h"

namespace radflow::ml::safetensors {
namespace {

using nlohmann::json;

// Reads a JSON integer that must be >= 0 and fit in int64.
std::optional<int64_t> as_int64(const json& value) {
  if (value.is_number_unsigned()) {
    const auto u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  return std::nullopt;
}

}  // namespace

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  RF_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mapped, MappedFile::open(path));
  SafetensorsFile file;
  file.path_ = path;
  Status parsed = file.parse(mapped->data(), mapped->size());
  if (!parsed.ok()) return parsed;
  file.file_ = std::move(mapped);
  return file;
}

Status SafetensorsFile::parse(const uint8_t* bytes, size_t size) {
  auto malformed = [this](const std::string& what) {
    return Status::error("safetensors_malformed", path_ + ": " + what, path_);
  };
  if (size < 8) {
    return malformed("file is " + std::to_string(size) +
                     " bytes, shorter than the 8-byte header length");
  }
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | bytes[i];
  if (header_bytes > kMaxHeaderBytes) {
    return malformed("header length " + std::to_string(header_bytes) + " exceeds the " +
                     std::to_string(kMaxHeaderBytes) + "-byte limit");
  }
  if (header_bytes > size - 8) {
    return malformed("header length " + std::to_string(header_bytes) +
                     " runs past the end of the " + std::to_string(size) + "-byte file");
  }
  const char* header_begin = reinterpret_cast<const char*>(bytes + 8);
  const json header = json::parse(header_begin, header_begin + header_bytes, nullptr,
                                  /*allow_exceptions=*/false);
  if (header.is_discarded()) return malformed("header is not valid JSON");
  if (!header.is_object()) return malformed("header is not a JSON object");

  const size_t data_start = 8 + static_cast<size_t>(header_bytes);
  const size_t data_size = size - data_start;
  // Named references rather than a structured binding: `bad` below captures the
  // name, which clang before 16 cannot do with a binding (the fuzzers use clang-14).
  for (const auto& item : header.items()) {
    const std::string& name = item.key();
    const nlohmann::json& value = item.value();
    if (name == "__metadata__") {
      if (!value.is_object()) return malformed("__metadata__ is not a JSON object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) return malformed("__metadata__ value '" + key + "' is not a string");
        metadata_[key] = text.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { return malformed("tensor '" + name + "': " + what); };
    if (!value.is_object()) return bad("entry is not a JSON object");
    const auto dtype_it = value.find("dtype");
    const auto shape_it = value.find("shape");
    const auto offsets_it = value.find("data_offsets");
    if (dtype_it == value.end() || !dtype_it->is_string()) return bad("missing string 'dtype'");
    if (shape_it == value.end() || !shape_it->is_array()) return bad("missing array 'shape'");
    if (offsets_it == value.end() || !offsets_it->is_array()) {
      return bad("missing array 'data_offsets'");
    }
    const std::optional<DType> dtype = parse_dtype(dtype_it->get<std::string>());
    if (!dtype) {
      return Status::error("safetensors_unknown_dtype",
                           path_ + ": tensor '" + name + "': unknown dtype '" +
                               dtype_it->get<std::string>() + "'",
                           path_);
    }
    Entry entry{*dtype, {}, 0, 0};
    for (const json& dim : *shape_it) {
      const std::optional<int64_t> d = as_int64(dim);
      if (!d) return bad("shape " + shape_it->dump() + " holds a non-integer dim");
      if (*d < 0) return bad("shape " + shape_it->dump() + " has a negative dim");
      entry.shape.push_back(*d);
    }
    if (offsets_it->size() != 2) return bad("data_offsets is not [begin, end]");
    const std::optional<int64_t> begin = as_int64((*offsets_it)[0]);
    const std::optional<int64_t> end = as_int64((*offsets_it)[1]);
    if (!begin || !end || *begin < 0 || *begin > *end) {
      return bad("data_offsets " + offsets_it->dump() + " is not [begin, end] with 0 <= begin <= end");
    }
    if (static_cast<uint64_t>(*end) > data_size) {
      return bad("data_offsets " + offsets_it->dump() + " run past the " +
                 std::to_string(data_size) + "-byte data section");
    }
    const std::optional<int64_t> count = element_count(entry.shape);
    const size_t element_bytes = dtype_size_bytes(*dtype);
    const uint64_t span = static_cast<uint64_t>(*end - *begin);
    if (!count || static_cast<uint64_t>(*count) > span / element_bytes ||
        static_cast<uint64_t>(*count) * element_bytes != span) {
      return bad("holds " + std::to_string(span) + " bytes but shape " + shape_it->dump() +
                 " of " + dtype_name(*dtype) + " needs a different count");
    }
    entry.begin = data_start + static_cast<size_t>(*begin);
    entry.end = data_start + static_cast<size_t>(*end);
    tensors_.emplace(name, std::move(entry));
  }

  // The data section must be tiled exactly: sorted by offset, each tensor starts
  // where the previous one ended and the last one ends at the end of the file.
  std::vector<std::pair<const std::string*, const Entry*>> by_offset;
  for (const auto& [name, entry] : tensors_) by_offset.emplace_back(&name, &entry);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.second->begin, a.second->end) <
           std::make_pair(b.second->begin, b.second->end);
  });
  size_t cursor = data_start;
  const std::string* previous = nullptr;
  for (const auto& [name, entry] : by_offset) {
    if (entry->begin < cursor) {
      return malformed("tensor '" + *name + "' overlaps tensor '" + *previous + "'");
    }
    if (entry->begin > cursor) {
      return malformed("tensor '" + *name + "' leaves a gap of " +
                       std::to_string(entry->begin - cursor) + " bytes before it");
    }
    cursor = entry->end;
    previous = name;
  }
  if (cursor != size) {
    return malformed(std::to_string(size - cursor) + " unused bytes after the last tensor");
  }
  return Status();
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, entry] : tensors_) out.push_back(name);
  return out;
}

Result<TensorView> SafetensorsFile::tensor(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return Status::error("safetensors_tensor_not_found",
                         path_ + ": no tensor named '" + name + "'", path_);
  }
  const Entry& entry = it->second;
  return TensorView{name, entry.dtype, entry.shape, file_->data() + entry.begin,
                    entry.end - entry.begin};
}

}  // namespace radflow::ml::safetensors
