#include "plugins/ml/torch/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "plugins/ml/safetensors/safetensors_file.h"
#include "plugins/ml/safetensors/safetensors_writer.h"

namespace radflow::ml {
namespace {

namespace st = radflow::ml::safetensors;
namespace fs = std::filesystem;

std::string join_first(const std::vector<std::string>& names, size_t limit = 5) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

// Where one tensor of the file goes, and the shape the model needs there.
struct ExpectedTensor {
  KeyMapping mapping;
  std::vector<int64_t> shape;
};

std::vector<ExpectedTensor> expected_tensors(const VisionTransformer& model, CheckpointLayout layout) {
  std::vector<ExpectedTensor> out;
  for (const auto& p : model->named_parameters()) {
    std::vector<int64_t> shape(p.value().sizes().begin(), p.value().sizes().end());
    for (auto& mapping : map_native_name(p.key(), layout)) {
      auto part_shape = shape;
      if (mapping.qkv_part >= 0) part_shape[0] /= 3;
      out.push_back({std::move(mapping), std::move(part_shape)});
    }
  }
  return out;
}

Result<nlohmann::json> read_json_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return Status::error("io_error", "cannot read " + path.string(), path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    return Status::error("invalid_config", std::string("config.json is not JSON: ") + e.what(), path.string());
  }
}

Result<torch::Tensor> to_torch_f32(const st::TensorView& view) {
  RF_ASSIGN_OR_RETURN(std::vector<float> values, st::to_f32(view));
  return torch::from_blob(values.data(), view.shape, torch::kFloat32).clone();
}

}  // namespace

Result<ViTConfig> read_checkpoint_config(const std::string& path) {
  RF_ASSIGN_OR_RETURN(st::SafetensorsFile file, st::SafetensorsFile::open(path));
  const auto names = file.names();
  RF_ASSIGN_OR_RETURN(CheckpointLayout layout, detect_checkpoint_layout(names));
  TensorShapes shapes;
  for (const auto& [normalized, stored] : normalize_checkpoint_names(names, layout)) {
    RF_ASSIGN_OR_RETURN(st::TensorView view, file.tensor(stored));
    shapes[normalized] = view.shape;
  }
  const fs::path config_path = fs::path(path).parent_path() / "config.json";
  if (!fs::exists(config_path)) return infer_vit_config(shapes, layout);
  RF_ASSIGN_OR_RETURN(nlohmann::json json, read_json_file(config_path));
  return infer_vit_config(shapes, layout, &json);
}

Result<LoadReport> load_checkpoint(VisionTransformer& model, const std::string& path, KeyMatching matching) {
  RF_ASSIGN_OR_RETURN(st::SafetensorsFile file, st::SafetensorsFile::open(path));
  const auto names = file.names();
  LoadReport report;
  RF_ASSIGN_OR_RETURN(report.layout, detect_checkpoint_layout(names));
  const auto stored_by_name = normalize_checkpoint_names(names, report.layout);
  const auto expected = expected_tensors(model, report.layout);

  // Check everything first so a bad file leaves the model untouched.
  std::map<std::string, bool> used;
  std::vector<std::pair<const ExpectedTensor*, st::TensorView>> to_copy;
  for (const auto& e : expected) {
    auto it = stored_by_name.find(e.mapping.file_name);
    if (it == stored_by_name.end()) {
      report.missing.push_back(e.mapping.file_name);
      continue;
    }
    used[it->first] = true;
    RF_ASSIGN_OR_RETURN(st::TensorView view, file.tensor(it->second));
    if (view.shape != e.shape) {
      return Status::error("checkpoint_mismatch",
                           "tensor " + it->second + " has shape " + shape_string(view.shape) + " but the model expects " +
                               shape_string(e.shape),
                           it->second);
    }
    to_copy.emplace_back(&e, std::move(view));
  }
  for (const auto& [normalized, stored] : stored_by_name) {
    if (!used.count(normalized)) report.unexpected.push_back(stored);
  }
  if (matching == KeyMatching::kStrict) {
    std::vector<std::string> fatal_missing;
    for (const auto& e : expected) {
      if (!stored_by_name.count(e.mapping.file_name) && !is_optional_tensor(e.mapping.native_name)) {
        fatal_missing.push_back(e.mapping.file_name);
      }
    }
    if (!fatal_missing.empty()) {
      return Status::error("checkpoint_mismatch", "missing tensors: " + join_first(fatal_missing), path);
    }
    if (!report.unexpected.empty()) {
      return Status::error("checkpoint_mismatch", "unexpected tensors: " + join_first(report.unexpected), path);
    }
  }

  auto params = model->named_parameters();
  torch::NoGradGuard no_grad;
  for (const auto& [e, view] : to_copy) {
    RF_ASSIGN_OR_RETURN(torch::Tensor value, to_torch_f32(view));
    torch::Tensor target = params[e->mapping.native_name];
    if (e->mapping.qkv_part >= 0) {
      const int64_t rows = target.size(0) / 3;
      target = target.narrow(0, e->mapping.qkv_part * rows, rows);
    }
    target.copy_(value);
    ++report.loaded;
  }
  return report;
}

Result<VisionTransformer> load_vit(const std::string& path) {
  RF_ASSIGN_OR_RETURN(ViTConfig config, read_checkpoint_config(path));
  // Strict loading overwrites every weight but the mask token, which starts at zero
  // either way: the random init would be thrown away.
  VisionTransformer model(config, WeightInit::kOverwritten);
  RF_RETURN_IF_ERROR(load_checkpoint(model, path, KeyMatching::kStrict).status());
  model->eval();
  return model;
}

Status save_checkpoint(const VisionTransformer& model, const std::string& path, CheckpointLayout layout) {
  // Contiguous f32 copies that outlive the write: TensorToWrite only borrows bytes.
  std::vector<torch::Tensor> keep_alive;
  std::vector<st::TensorToWrite> tensors;
  for (const auto& p : model->named_parameters()) {
    torch::Tensor value = p.value().detach().to(torch::kCPU, torch::kFloat32);
    for (const auto& mapping : map_native_name(p.key(), layout)) {
      torch::Tensor part = value;
      if (mapping.qkv_part >= 0) {
        const int64_t rows = value.size(0) / 3;
        part = value.narrow(0, mapping.qkv_part * rows, rows);
      }
      part = part.contiguous();
      keep_alive.push_back(part);
      st::TensorToWrite t;
      t.name = mapping.file_name;
      t.dtype = st::DType::kF32;
      t.shape.assign(part.sizes().begin(), part.sizes().end());
      t.data = part.data_ptr();
      t.size_bytes = static_cast<size_t>(part.numel()) * sizeof(float);
      tensors.push_back(std::move(t));
    }
  }
  std::map<std::string, std::string> metadata = {{"format", "pt"}, {"radflow_layout", to_string(layout)}};
  RF_RETURN_IF_ERROR(st::write_safetensors(path, tensors, metadata));

  const fs::path config_path = fs::path(path).parent_path() / "config.json";
  std::ofstream out(config_path);
  out << to_json(model->config()).dump(2) << "\n";
  out.close();
  if (!out) return Status::error("io_error", "cannot write " + config_path.string(), config_path.string());
  return Status();
}

}  // namespace radflow::ml
