// safetensors: an 8-byte little-endian header length, a JSON header
// {name: {"dtype", "shape", "data_offsets": [begin, end]}} and the data after it.
#include "feature_reader.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace knn {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot be read");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

FeatureTable read_tensor(const std::string& file, const std::string& name) {
  const std::string bytes = read_file(file);
  uint64_t header_size = 0;
  if (bytes.size() < 8) throw std::runtime_error(file + ": too short for safetensors");
  for (int i = 7; i >= 0; --i) header_size = header_size << 8 | static_cast<unsigned char>(bytes[i]);
  if (header_size > bytes.size() - 8) throw std::runtime_error(file + ": header runs past the end");
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, header_size), nullptr, false);
  if (!header.is_object() || !header.contains(name)) {
    throw std::runtime_error(file + ": no tensor \"" + name + "\"");
  }
  const nlohmann::json& entry = header[name];
  const auto& shape = entry.value("shape", nlohmann::json::array());
  const auto& offsets = entry.value("data_offsets", nlohmann::json::array());
  if (entry.value("dtype", "") != "F32" || shape.size() != 2 || offsets.size() != 2) {
    throw std::runtime_error(file + ": tensor \"" + name + "\" must be F32 with shape [N, D]");
  }
  FeatureTable table;
  table.rows = shape[0].get<int64_t>();
  table.dim = shape[1].get<int64_t>();
  const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  const uint64_t data_start = 8 + header_size;
  if (table.rows < 0 || table.dim <= 0 || end < begin ||
      end - begin != static_cast<uint64_t>(table.rows * table.dim) * sizeof(float) ||
      data_start + end > bytes.size()) {
    throw std::runtime_error(file + ": tensor \"" + name + "\" has offsets that do not fit its shape");
  }
  table.values.resize(static_cast<size_t>(table.rows * table.dim));
  std::memcpy(table.values.data(), bytes.data() + data_start + begin, end - begin);
  return table;
}

std::vector<FeatureRow> read_rows(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file + ": cannot be read");
  std::vector<FeatureRow> rows;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
    if (!row.is_object()) throw std::runtime_error(file + ":" + std::to_string(number) + ": not a JSON object");
    FeatureRow r;
    r.path = row.value("path", "");
    r.split = row.value("split", "");
    if (row.contains("labels") && row["labels"].is_object()) {
      for (const auto& [finding, value] : row["labels"].items()) {
        if (value.is_number_integer()) r.labels[finding] = value.get<int>() != 0 ? 1 : 0;
      }
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace

FeatureTable read_feature_table(const std::string& dir, const std::string& tensor) {
  const std::string file = dir + "/features.safetensors";
  FeatureTable table;
  if (tensor == "cls+mean") {
    const FeatureTable cls = read_tensor(file, "cls"), mean = read_tensor(file, "mean_patch");
    table.rows = cls.rows;
    table.dim = cls.dim + mean.dim;
    for (int64_t i = 0; i < cls.rows; ++i) {
      table.values.insert(table.values.end(), cls.values.begin() + i * cls.dim,
                          cls.values.begin() + (i + 1) * cls.dim);
      table.values.insert(table.values.end(), mean.values.begin() + i * mean.dim,
                          mean.values.begin() + (i + 1) * mean.dim);
    }
  } else {
    table = read_tensor(file, tensor);
  }
  table.row_info = read_rows(dir + "/rows.jsonl");
  if (static_cast<int64_t>(table.row_info.size()) != table.rows) {
    throw std::runtime_error(dir + "/rows.jsonl has " + std::to_string(table.row_info.size()) +
                             " rows, features.safetensors " + std::to_string(table.rows));
  }
  return table;
}

}  // namespace knn
