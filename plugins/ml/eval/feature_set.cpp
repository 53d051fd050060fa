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

Result<torch::Tensor> read_tensor(const st::SafetensorsFile& file, const std::string& name) {
  RF_ASSIGN_OR_RETURN(st::TensorView view, file.tensor(name));
  if (view.shape.size() != 2) return invalid(file.path(), name + " must be 2-D");
  RF_ASSIGN_OR_RETURN(std::vector<float> values, st::to_f32(view));
  return torch::from_blob(values.data(), {view.shape[0], view.shape[1]}, torch::kFloat32).clone();
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
  RF_RETURN_IF_ERROR(st::write_safetensors(
      (fs::path(dir) / "features.safetensors").string(),
      {{"cls", st::DType::kF32, {cls.size(0), cls.size(1)}, cls.data_ptr<float>(),
        static_cast<size_t>(cls.numel()) * 4},
       {"mean_patch", st::DType::kF32, {mean_patch.size(0), mean_patch.size(1)},
        mean_patch.data_ptr<float>(), static_cast<size_t>(mean_patch.numel()) * 4}}));
  std::ofstream rows(fs::path(dir) / "rows.jsonl");
  for (const auto& row : set.rows) {
    nlohmann::json line = {{"path", row.path}, {"split", row.split}, {"labels", row.labels},
                           {"sex", row.sex}, {"extra", row.extra}};
    line["age"] = row.age ? nlohmann::json(*row.age) : nlohmann::json();
    rows << line.dump() << "\n";
  }
  std::ofstream(fs::path(dir) / "meta.json") << set.meta.dump(2) << "\n";
  if (!rows) return Status::error("io_error", "cannot write rows.jsonl in " + dir, dir);
  return Status();
}

Result<FeatureSet> read_feature_set(const std::string& dir) {
  FeatureSet set;
  const std::string tensors = (fs::path(dir) / "features.safetensors").string();
  RF_ASSIGN_OR_RETURN(st::SafetensorsFile file, st::SafetensorsFile::open(tensors));
  RF_ASSIGN_OR_RETURN(set.cls, read_tensor(file, "cls"));
  RF_ASSIGN_OR_RETURN(set.mean_patch, read_tensor(file, "mean_patch"));
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
    if (json.contains("extra")) row.extra = json["extra"];
    set.rows.push_back(std::move(row));
  }
  if (static_cast<int64_t>(set.rows.size()) != set.cls.size(0)) {
    return invalid(dir, std::to_string(set.rows.size()) + " rows but " +
                            std::to_string(set.cls.size(0)) + " feature vectors");
  }
  std::ifstream meta(fs::path(dir) / "meta.json");
  if (meta) set.meta = nlohmann::json::parse(meta, nullptr, false);
  return set;
}

}  // namespace radflow::ml::eval
