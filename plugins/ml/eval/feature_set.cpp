#include "plugins/ml/eval/feature_set.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "plugins/ml/safetensors/safetensors_file.h"
#include "plugins/ml/safetensors/safetensors_writer.h"

namespace radflow::ml::eval {
namespace fs = std::filesystem;
namespace st = radflow::ml::safetensors;

namespace {

Status invalid(const std::string& where, const std::string& what) {
  return Status::error("feature_set_invalid", where + ": " + what, where);
}

Result<torch::Tensor> read_tensor(const st::SafetensorsFile& file, const std::string& name,
                                  size_t rank = 2) {
  RF_ASSIGN_OR_RETURN(st::TensorView view, file.tensor(name));
  if (view.shape.size() != rank) {
    return invalid(file.path(), name + " must be " + std::to_string(rank) + "-D");
  }
  RF_ASSIGN_OR_RETURN(std::vector<float> values, st::to_f32(view));
  return torch::from_blob(values.data(), view.shape, torch::kFloat32).clone();
}

st::TensorToWrite f32_entry(const std::string& name, const torch::Tensor& tensor) {
  return {name, st::DType::kF32, tensor.sizes().vec(), tensor.data_ptr<float>(),
          static_cast<size_t>(tensor.numel()) * 4};
}

Status write_patch_tokens(const std::string& dir, const FeatureSet& set) {
  std::vector<torch::Tensor> keep;
  std::vector<st::TensorToWrite> entries;
  for (const auto& [layer, tokens] : set.patch_tokens) {
    keep.push_back(tokens.to(torch::kFloat32).contiguous());
    const auto& t = keep.back();
    if (t.dim() != 3 || t.size(0) != static_cast<int64_t>(set.rows.size()) ||
        t.size(1) != set.grid_h * set.grid_w) {
      return invalid(dir, "patch tokens of layer " + std::to_string(layer) +
                              " must be [rows, grid_h * grid_w, D]");
    }
    entries.push_back(f32_entry("layer_" + std::to_string(layer), t));
  }
  return st::write_safetensors((fs::path(dir) / "patches.safetensors").string(), entries);
}

Status read_patch_tokens(const std::string& dir, FeatureSet& set) {
  const std::string path = (fs::path(dir) / "patches.safetensors").string();
  if (!fs::exists(path)) return Status();
  RF_ASSIGN_OR_RETURN(st::SafetensorsFile file, st::SafetensorsFile::open(path));
  for (const std::string& name : file.names()) {
    if (name.rfind("layer_", 0) != 0) return invalid(path, "unexpected tensor " + name);
    int64_t layer = 0;
    try {
      layer = std::stoll(name.substr(6));
    } catch (const std::exception&) {
      return invalid(path, "tensor " + name + " is not named layer_<index>");
    }
    RF_ASSIGN_OR_RETURN(torch::Tensor tokens, read_tensor(file, name, 3));
    if (tokens.size(0) != set.cls.size(0) || tokens.size(1) != set.grid_h * set.grid_w) {
      return invalid(path, name + " has shape [" + std::to_string(tokens.size(0)) + ", " +
                               std::to_string(tokens.size(1)) + ", D]; expected rows x grid " +
                               std::to_string(set.grid_h) + "x" + std::to_string(set.grid_w));
    }
    set.patch_tokens[layer] = tokens;
  }
  return Status();
}

}  // namespace

std::vector<std::string> FeatureSet::findings() const {
  std::set<std::string> names;
  for (const auto& row : rows) {
    for (const auto& [name, value] : row.labels) names.insert(name);
  }
  return {names.begin(), names.end()};
}

Status write_feature_set(const std::string& dir, const FeatureSet& set) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::error("io_error", "cannot create " + dir + ": " + ec.message(), dir);
  const auto cls = set.cls.to(torch::kFloat32).contiguous();
  const auto mean_patch = set.mean_patch.to(torch::kFloat32).contiguous();
  if (cls.size(0) != static_cast<int64_t>(set.rows.size()) || !cls.sizes().equals(mean_patch.sizes())) {
    return invalid(dir, "cls, mean_patch and rows disagree in size");
  }
  std::vector<torch::Tensor> layer_cls;
  std::vector<st::TensorToWrite> entries = {f32_entry("cls", cls), f32_entry("mean_patch", mean_patch)};
  for (const auto& [layer, tokens] : set.layer_cls) {
    layer_cls.push_back(tokens.to(torch::kFloat32).contiguous());
    if (!layer_cls.back().sizes().equals(cls.sizes())) {
      return invalid(dir, "cls of layer " + std::to_string(layer) + " must be [rows, D] like cls");
    }
    entries.push_back(f32_entry("cls_layer_" + std::to_string(layer), layer_cls.back()));
  }
  RF_RETURN_IF_ERROR(st::write_safetensors((fs::path(dir) / "features.safetensors").string(), entries));
  nlohmann::json meta = set.meta;
  if (!set.patch_tokens.empty()) {
    RF_RETURN_IF_ERROR(write_patch_tokens(dir, set));
    meta["grid"] = {set.grid_h, set.grid_w};
    meta["patch_layers"] = nlohmann::json::array();
    for (const auto& [layer, tokens] : set.patch_tokens) meta["patch_layers"].push_back(layer);
  }
  std::ofstream rows(fs::path(dir) / "rows.jsonl");
  for (const auto& row : set.rows) {
    nlohmann::json line = {{"path", row.path}, {"split", row.split}, {"labels", row.labels},
                           {"sex", row.sex}, {"report", row.report}, {"masks", row.masks},
                           {"extra", row.extra}};
    line["age"] = row.age ? nlohmann::json(*row.age) : nlohmann::json();
    rows << line.dump() << "\n";
  }
  std::ofstream(fs::path(dir) / "meta.json") << meta.dump(2) << "\n";
  if (!rows) return Status::error("io_error", "cannot write rows.jsonl in " + dir, dir);
  return Status();
}

Result<FeatureSet> read_feature_set(const std::string& dir, bool with_patch_tokens) {
  FeatureSet set;
  const std::string tensors = (fs::path(dir) / "features.safetensors").string();
  RF_ASSIGN_OR_RETURN(st::SafetensorsFile file, st::SafetensorsFile::open(tensors));
  RF_ASSIGN_OR_RETURN(set.cls, read_tensor(file, "cls"));
  RF_ASSIGN_OR_RETURN(set.mean_patch, read_tensor(file, "mean_patch"));
  for (const std::string& name : file.names()) {
    if (name.rfind("cls_layer_", 0) != 0) continue;
    int64_t layer = 0;
    try {
      layer = std::stoll(name.substr(10));
    } catch (const std::exception&) {
      return invalid(tensors, "tensor " + name + " is not named cls_layer_<index>");
    }
    RF_ASSIGN_OR_RETURN(set.layer_cls[layer], read_tensor(file, name));
    if (!set.layer_cls[layer].sizes().equals(set.cls.sizes())) {
      return invalid(tensors, name + " must have the shape of cls");
    }
  }
  const std::string rows_path = (fs::path(dir) / "rows.jsonl").string();
  std::ifstream rows(rows_path);
  if (!rows) return invalid(rows_path, "missing");
  std::string text;
  for (int line_number = 1; std::getline(rows, text); ++line_number) {
    if (text.empty()) continue;
    const std::string where = rows_path + ":" + std::to_string(line_number);
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (!json.is_object()) return invalid(where, "not a JSON object");
    FeatureRow row;
    row.path = json.value("path", "");
    row.split = json.value("split", "");
    if (row.split != "train" && row.split != "val" && row.split != "test") {
      return invalid(where, "split must be train, val or test, got \"" + row.split + "\"");
    }
    if (json.contains("labels") && json["labels"].is_object()) {
      for (const auto& [name, value] : json["labels"].items()) {
        if (!value.is_number_integer()) return invalid(where, "label " + name + " must be 0 or 1");
        row.labels[name] = value.get<int>();
      }
    }
    if (json.contains("age") && json["age"].is_number()) row.age = json["age"].get<double>();
    row.sex = json.value("sex", "");
    row.report = json.value("report", "");
    if (json.contains("masks") && json["masks"].is_object()) {
      for (const auto& [name, value] : json["masks"].items()) {
        if (!value.is_string()) return invalid(where, "mask " + name + " must be a path");
        row.masks[name] = value.get<std::string>();
      }
    }
    if (json.contains("extra")) row.extra = json["extra"];
    set.rows.push_back(std::move(row));
  }
  if (static_cast<int64_t>(set.rows.size()) != set.cls.size(0)) {
    return invalid(dir, std::to_string(set.rows.size()) + " rows but " +
                            std::to_string(set.cls.size(0)) + " feature vectors");
  }
  std::ifstream meta(fs::path(dir) / "meta.json");
  if (meta) set.meta = nlohmann::json::parse(meta, nullptr, false);
  if (set.meta.contains("grid") && set.meta["grid"].is_array() && set.meta["grid"].size() == 2) {
    set.grid_h = set.meta["grid"][0].get<int64_t>();
    set.grid_w = set.meta["grid"][1].get<int64_t>();
  }
  if (with_patch_tokens) RF_RETURN_IF_ERROR(read_patch_tokens(dir, set));
  return set;
}

}  // namespace radflow::ml::eval
