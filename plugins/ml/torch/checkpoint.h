// Loading and saving VisionTransformer weights as safetensors, in the Hugging Face
// Dinov2Model layout (what radflow writes, with a config.json beside it) or the DINOv2
// repository layout (read and optionally written). See research/raddino-method.md §1.5.
//
// Loading checks every tensor against the model before copying anything: the first
// tensor whose shape differs is an error naming it with both shapes; missing and
// unexpected tensors are listed in the LoadReport and fail a strict load. F16/BF16/F64
// tensors are converted to f32. Functions are stateless; a model must not be used by
// other threads while it is being loaded.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/ml/torch/checkpoint_keys.h"
#include "plugins/ml/torch/vit.h"

namespace radflow::ml {

// kStrict: any missing (non-optional) or unexpected tensor fails the load.
// kLenient: they are only reported.
enum class KeyMatching { kStrict, kLenient };

struct LoadReport {
  CheckpointLayout layout = CheckpointLayout::kHuggingFace;
  std::vector<std::string> missing;     // file-layout names the model expects but the file lacks
  std::vector<std::string> unexpected;  // stored names the model has no place for
  size_t loaded = 0;                    // file tensors copied into the model
};

// The config for a checkpoint file: config.json beside it when present (cross-checked
// against the tensors), else inferred from the tensor shapes alone.
Result<ViTConfig> read_checkpoint_config(const std::string& path);

// Copies the tensors of `path` into `model`. Errors: "io_error" (unreadable file),
// "unknown_checkpoint_layout", "checkpoint_mismatch" (shape; missing/unexpected keys
// under kStrict), "unsupported_dtype".
Result<LoadReport> load_checkpoint(VisionTransformer& model, const std::string& path,
                                   KeyMatching matching = KeyMatching::kStrict);

// read_checkpoint_config + construct + strict load, in eval mode.
Result<VisionTransformer> load_vit(const std::string& path);

// Writes the model's parameters (as f32) to `path` in `layout`, and config.json in the
// same folder. The HF layout splits each fused qkv into query/key/value.
Status save_checkpoint(const VisionTransformer& model, const std::string& path,
                       CheckpointLayout layout = CheckpointLayout::kHuggingFace);

}  // namespace radflow::ml
