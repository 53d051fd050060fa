#include "plugins/pretrain/pretrain_config.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <vector>

namespace radflow::plugins::pretrain {
namespace {

using nlohmann::json;

// Thrown inside this file only; pretrain_config() turns it into a Status.
struct BadParam : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Params {
 public:
  explicit Params(const json& params) : p_(params) {}
  bool has(const std::string& name) const { return p_.contains(name) && !p_.at(name).is_null(); }

  template <typename T>
  T get(const std::string& name, T fallback) const {
    if (!has(name)) return fallback;
    const json& v = p_.at(name);
    const bool ok = std::is_same_v<T, std::string>   ? v.is_string()
                    : std::is_floating_point_v<T> ? v.is_number()
                                                  : v.is_number_integer();
    if (!ok) throw BadParam("param '" + name + "' has the wrong type: " + v.dump());
    return v.get<T>();
  }
  // A fixed-length array of numbers.
  std::vector<double> numbers(const std::string& name, std::vector<double> fallback) const {
    if (!has(name)) return fallback;
    const json& v = p_.at(name);
    bool ok = v.is_array() && v.size() == fallback.size();
    for (size_t i = 0; ok && i < v.size(); ++i) ok = v[i].is_number();
    if (!ok) {
      throw BadParam("param '" + name + "' must be an array of " + std::to_string(fallback.size()) +
                     " numbers, got " + v.dump());
    }
    return v.get<std::vector<double>>();
  }

 private:
  const json& p_;
};

void require(bool ok, const std::string& message) {
  if (!ok) throw BadParam(message);
}
void require_probability(double p, const std::string& name) {
  require(p >= 0 && p <= 1, "param '" + name + "' must lie in [0, 1]");
}
void require_range(const std::vector<double>& r, const std::string& name) {
  require(r[0] > 0 && r[0] <= r[1] && r[1] <= 1, "param '" + name + "' must be [min, max] with 0 < min <= max <= 1");
}

const std::set<std::string>& known_params() {
  static const std::set<std::string> names = {
      "arch", "device", "image_size", "iterations", "batch_size", "local_crops", "prototypes", "base_lr",
      "lr", "checkpoint_every", "seed", "embed_dim", "depth", "heads", "patch_size", "layerscale_init",
      "teacher_targets", "teacher_temp", "warmup_teacher_temp", "teacher_momentum", "weight_decay",
      "weight_decay_end", "global_crop_scale", "local_crop_scale", "blur_probabilities", "blur_sigma_max",
      "solarize_probability", "koleo_weight", "ibot_weight", "drop_path", "init_checkpoint",
      "train_fraction", "precision", "local_crop_size", "max_image_side"};
  return names;
}

PretrainConfig read(const json& params, int64_t world_size) {
  require(params.is_object(), "params must be a JSON object");
  for (const auto& item : params.items()) {
    require(known_params().count(item.key()) > 0, "unknown param '" + item.key() + "'");
  }
  const Params p(params);
  PretrainConfig c;
  c.arch = p.get<std::string>("arch", "tiny");
  require(c.arch == "tiny" || c.arch == "small" || c.arch == "base", "param 'arch' must be tiny, small or base");
  const bool tiny = c.arch == "tiny";
  c.device = p.get<std::string>("device", "cpu");
  require(c.device == "cpu" || c.device == "cuda", "param 'device' must be cpu or cuda");
  const std::string precision = p.get<std::string>("precision", c.device == "cuda" ? "bf16" : "fp32");
  require(precision == "bf16" || precision == "fp32", "param 'precision' must be bf16 or fp32");
  require(precision == "fp32" || c.device == "cuda",
          "param 'precision' bf16 needs device cuda (bf16 autocast is for GPUs; the CPU trains in fp32)");
  c.image_size = p.get<int64_t>("image_size", tiny ? 56 : 224);
  c.iterations = p.get<int64_t>("iterations", 100);
  c.batch_size = p.get<int64_t>("batch_size", 8);
  c.checkpoint_every = p.get<int64_t>("checkpoint_every", 50);
  const int64_t seed = p.get<int64_t>("seed", 0);
  require(seed >= 0, "param 'seed' must be >= 0");
  c.seed = static_cast<uint64_t>(seed);
  c.init_checkpoint = p.get<std::string>("init_checkpoint", "");
  c.train_fraction = p.get<double>("train_fraction", 1.0);
  require(c.train_fraction > 0 && c.train_fraction <= 1, "param 'train_fraction' must be in (0, 1]");
  require(c.image_size >= 28 && c.image_size <= 1024, "param 'image_size' must lie in [28, 1024]");
  // Images are cropped at their loaded resolution, bounded by this longest side.
  c.max_image_side = p.get<int64_t>("max_image_side", tiny ? 2 * c.image_size : 1024);
  require(c.max_image_side >= 28 && c.max_image_side <= 8192, "param 'max_image_side' must lie in [28, 8192]");
  require(c.iterations >= 0, "param 'iterations' must be >= 0");
  require(c.batch_size >= 2, "param 'batch_size' must be >= 2 (KoLeo needs two images per rank)");
  require(c.checkpoint_every >= 1, "param 'checkpoint_every' must be >= 1");

  // Architecture: the tiny shape is free, the presets are fixed.
  if (tiny) {
    c.vit = ml::vit_tiny_test();
    c.vit.embed_dim = p.get<int64_t>("embed_dim", 96);
    c.vit.depth = p.get<int64_t>("depth", 4);
    c.vit.num_heads = p.get<int64_t>("heads", 4);
    c.vit.patch_size = p.get<int64_t>("patch_size", 14);
    require(c.vit.embed_dim >= 8 && c.vit.depth >= 1 && c.vit.num_heads >= 1 && c.vit.patch_size >= 2,
            "params 'embed_dim' (>= 8), 'depth', 'heads' (>= 1) and 'patch_size' (>= 2) out of range");
    require(c.vit.embed_dim % c.vit.num_heads == 0, "param 'embed_dim' must be a multiple of 'heads'");
  } else {
    for (const char* fixed : {"embed_dim", "depth", "heads", "patch_size"}) {
      require(!p.has(fixed), std::string("param '") + fixed + "' applies to arch tiny only; ViT-" + c.arch +
                                 " fixes it (remove it or use arch tiny)");
    }
    c.vit = c.arch == "small" ? ml::vit_small() : ml::vit_base();
  }
  c.vit.image_size = c.image_size;
  // Tiny: 1.0 (blocks contribute from the first step). At DINOv2's 1e-5 every block is
  // nearly the identity at init, the CLS token barely depends on the image, and the
  // DINO targets stay uniform for the few hundred iterations a CPU demo has; measured
  // on synth-cxr, 1.0 beat 0.1 and 1e-5 on the probe after 300 iterations.
  c.vit.layerscale_init = p.get<double>("layerscale_init", tiny ? 1.0 : 1e-5);
  require(c.vit.layerscale_init >= 0, "param 'layerscale_init' must be >= 0 (0 disables LayerScale)");
  require(c.image_size % c.vit.patch_size == 0,
          "param 'image_size' (" + std::to_string(c.image_size) + ") must be a multiple of the patch size (" +
              std::to_string(c.vit.patch_size) + ")");

  c.head.in_dim = c.vit.embed_dim;
  c.head.out_dim = p.get<int64_t>("prototypes", tiny ? 256 : 65536);
  require(c.head.out_dim >= 16 && c.head.out_dim <= 262144, "param 'prototypes' must lie in [16, 262144]");
  if (tiny) c.head.hidden_dim = 128, c.head.bottleneck_dim = 64;

  // Schedules: DINOv2's shapes compressed into `iterations` (10 "epochs"); at least one
  // iteration so that iterations 0 still builds a trainer (it never steps).
  ml::ssl::SslScheduleConfig& s = c.schedule;
  const int64_t total = std::max<int64_t>(1, c.iterations);
  s.epoch_length = std::max<int64_t>(1, total / 10);
  s.epochs = (total + s.epoch_length - 1) / s.epoch_length;
  s.warmup_epochs = 1;
  s.warmup_teacher_temp_epochs = std::min<int64_t>(3, s.epochs);
  s.teacher_temp = p.get<double>("teacher_temp", tiny ? 0.04 : 0.07);
  s.warmup_teacher_temp = p.get<double>("warmup_teacher_temp", 0.04);
  s.momentum_teacher = p.get<double>("teacher_momentum", tiny ? 0.99 : 0.992);
  s.weight_decay = p.get<double>("weight_decay", 0.04);
  s.weight_decay_end = p.get<double>("weight_decay_end", tiny ? 0.04 : 0.4);
  require(s.teacher_temp > 0 && s.warmup_teacher_temp > 0, "teacher temperatures must be > 0");
  require(s.momentum_teacher >= 0 && s.momentum_teacher <= 1, "param 'teacher_momentum' must lie in [0, 1]");
  require(s.weight_decay >= 0 && s.weight_decay_end >= 0, "weight decays must be >= 0");

  // lr: an absolute peak ("lr") wins over DINOv2's sqrt-scaled base_lr.
  const int64_t global_batch = c.batch_size * world_size;
  const double scale = std::sqrt(static_cast<double>(global_batch) / 1024.0);
  if (p.has("lr") || (tiny && !p.has("base_lr"))) {
    c.peak_lr = p.get<double>("lr", 4e-3);
    s.base_lr = c.peak_lr / scale;
  } else {
    s.base_lr = p.get<double>("base_lr", 4e-3);
    c.peak_lr = ml::ssl::scaled_lr(s.base_lr, global_batch);
  }
  require(c.peak_lr > 0, "params 'lr' / 'base_lr' must be > 0");

  ml::ssl::SslTrainerOptions& o = c.options;
  o.seed = c.seed;
  o.bf16_autocast = precision == "bf16";  // the device itself is chosen at run time (pretrain.cpp)
  o.global_batch_size = global_batch;
  // Tiny defaults to Sinkhorn-Knopp: its targets are balanced over the prototypes from the
  // first step, where EMA centering spends the first hundreds of tiny steps flattening
  // them (the loss then rises while the student learns). DINOv2's default stays for small/base.
  const std::string targets = p.get<std::string>("teacher_targets", tiny ? "sinkhorn" : "centering");
  require(targets == "centering" || targets == "sinkhorn", "param 'teacher_targets' must be centering or sinkhorn");
  o.teacher_targets = targets == "sinkhorn" ? ml::ssl::TeacherTargets::kSinkhorn : ml::ssl::TeacherTargets::kCentering;
  o.student_drop_path_rate = p.get<double>("drop_path", tiny ? 0.0 : 0.3);
  require(o.student_drop_path_rate >= 0 && o.student_drop_path_rate < 1, "param 'drop_path' must lie in [0, 1)");
  o.loss_weights.koleo = p.get<double>("koleo_weight", 0.1);
  o.loss_weights.ibot = p.get<double>("ibot_weight", 1.0);
  require(o.loss_weights.koleo >= 0 && o.loss_weights.ibot >= 0, "loss weights must be >= 0");

  ml::ssl::MultiCropOptions& crops = o.crops;
  crops.global_crop_size = c.image_size;
  // Tiny: about half the global crop (28 at 56); small/base: DINOv2's 96 rounded to patch 14.
  const int64_t tiny_local = std::max<int64_t>(c.vit.patch_size * 2, c.image_size / 2 / c.vit.patch_size * c.vit.patch_size);
  crops.local_crop_size = p.get<int64_t>("local_crop_size", tiny ? tiny_local : 98);
  require(crops.local_crop_size >= c.vit.patch_size && crops.local_crop_size <= 1024 &&
              crops.local_crop_size % c.vit.patch_size == 0,
          "param 'local_crop_size' (" + std::to_string(crops.local_crop_size) +
              ") must be a multiple of the patch size (" + std::to_string(c.vit.patch_size) + ") in [patch, 1024]");
  crops.n_local_crops = p.get<int64_t>("local_crops", tiny ? 2 : 8);
  require(crops.n_local_crops >= 0 && crops.n_local_crops <= 16, "param 'local_crops' must lie in [0, 16]");
  crops.flip_probability = 0;  // laterality matters in chest radiographs
  const auto global_scale = p.numbers("global_crop_scale", tiny ? std::vector<double>{0.6, 1.0} : std::vector<double>{0.32, 1.0});
  const auto local_scale = p.numbers("local_crop_scale", tiny ? std::vector<double>{0.2, 0.5} : std::vector<double>{0.05, 0.32});
  require_range(global_scale, "global_crop_scale");
  require_range(local_scale, "local_crop_scale");
  crops.global_scale_min = global_scale[0], crops.global_scale_max = global_scale[1];
  crops.local_scale_min = local_scale[0], crops.local_scale_max = local_scale[1];
  // small/base: DINOv2's effective values. Its config says 1.0 / 0.1 / 0.5, but its
  // GaussianBlur wrapper applies the blur with probability 1 - p, so the released models
  // saw 0 / 0.9 / 0.5 (research/raddino-method.md §2.6; dinov2 PR #411, dinov3 #286).
  const auto blur = p.numbers("blur_probabilities", tiny ? std::vector<double>{0.3, 0.1, 0.1} : std::vector<double>{0.0, 0.9, 0.5});
  for (double b : blur) require_probability(b, "blur_probabilities");
  crops.blur_probability_global1 = blur[0], crops.blur_probability_global2 = blur[1], crops.blur_probability_local = blur[2];
  crops.blur_sigma_max = p.get<double>("blur_sigma_max", tiny ? 1.0 : 2.0);
  require(crops.blur_sigma_max >= crops.blur_sigma_min, "param 'blur_sigma_max' must be >= 0.1");
  crops.solarize_probability_global2 = p.get<double>("solarize_probability", tiny ? 0.0 : 0.2);
  require_probability(crops.solarize_probability_global2, "solarize_probability");

  const Status valid = ml::validate(c.vit);
  require(valid.ok(), "invalid architecture: " + (valid.ok() ? "" : valid.message()));
  return c;
}

}  // namespace

Status adopt_checkpoint_grid(PretrainConfig& config, const ml::ViTConfig& checkpoint) {
  if (checkpoint.patch_size != config.vit.patch_size) {
    return Status::error("invalid_params", "param 'init_checkpoint' has patch size " +
                                               std::to_string(checkpoint.patch_size) + " but the model uses " +
                                               std::to_string(config.vit.patch_size));
  }
  config.vit.image_size = checkpoint.image_size;
  return Status();
}

Result<PretrainConfig> pretrain_config(const nlohmann::json& params, int64_t world_size) {
  try {
    return read(params, world_size);
  } catch (const BadParam& e) {
    return Status::error("invalid_params", e.what());
  } catch (const nlohmann::json::exception& e) {
    return Status::error("invalid_params", e.what());
  }
}

const char* pretrain_params_schema() {
  return R"json({"type":"object","additionalProperties":false,"properties":{
  "arch":{"type":"string","enum":["tiny","small","base"],"default":"tiny",
    "description":"ViT size: tiny (CPU scale; shape set by embed_dim/depth/heads/patch_size), small (ViT-S/14) or base (ViT-B/14). Per-arch defaults below: 'tiny' values make a small CPU model learn in minutes, small/base keep DINOv2's."},
  "device":{"type":"string","enum":["cpu","cuda"],"default":"cpu",
    "description":"where to train: cpu, or cuda (each rank on one GPU of the step's resources.gpus, NCCL between ranks)"},
  "precision":{"type":"string","enum":["bf16","fp32"],
    "description":"bf16: forward passes and losses under bf16 autocast, weights and optimizer in fp32 (default on cuda; cuda only); fp32 (default on cpu)"},
  "image_size":{"type":"integer","minimum":28,"maximum":1024,
    "description":"global crop size in pixels, a multiple of the patch size (default 56 for tiny, 224 otherwise). The position embedding keeps its native grid (init_checkpoint's, else this size's) and is interpolated bicubically for every crop size, as DINOv2"},
  "local_crop_size":{"type":"integer","minimum":2,"maximum":1024,
    "description":"local crop size in pixels, a multiple of the patch size (default 98 for small/base, DINOv2's 96 at patch 14; for tiny about half of image_size, 28 at 56)"},
  "max_image_side":{"type":"integer","minimum":28,"maximum":8192,
    "description":"images are decoded and cropped at their own resolution, first shrunk (aspect kept) so that the longer side is at most this (default 1024 for small/base, 2 x image_size for tiny)"},
  "iterations":{"type":"integer","minimum":0,"maximum":10000000,"default":100,
    "description":"training steps in all (a resumed attempt continues to this count); 0 writes the randomly initialised teacher (= student init) as the encoder"},
  "batch_size":{"type":"integer","minimum":2,"maximum":4096,"default":8,
    "description":"images per rank per step; the global batch is batch_size * ranks"},
  "local_crops":{"type":"integer","minimum":0,"maximum":16,"description":"local crops per image (default 8 for small/base, as DINOv2; 2 for tiny)"},
  "prototypes":{"type":"integer","minimum":16,"maximum":262144,
    "description":"K, the DINO head's output size (default 256 for tiny, 65536 otherwise)"},
  "lr":{"type":"number","exclusiveMinimum":0,
    "description":"absolute peak learning rate after warm-up; overrides base_lr (default for tiny 0.004; unset for small/base)"},
  "base_lr":{"type":"number","exclusiveMinimum":0,"default":0.004,
    "description":"DINOv2 base lr, scaled by sqrt(global batch / 1024); used when lr is not given (for tiny only when given)"},
  "checkpoint_every":{"type":"integer","minimum":1,"default":50,
    "description":"iterations between resumable checkpoints (the last iteration is always saved)"},
  "seed":{"type":"integer","minimum":0,"default":0,"description":"seeds the init, the batches, crops, masks and drop path"},
  "embed_dim":{"type":"integer","minimum":8,"description":"tiny only: ViT width (default 96); an error for small/base"},
  "depth":{"type":"integer","minimum":1,"description":"tiny only: transformer blocks (default 4); an error for small/base"},
  "heads":{"type":"integer","minimum":1,"description":"tiny only: attention heads, dividing embed_dim (default 4); an error for small/base"},
  "patch_size":{"type":"integer","minimum":2,"description":"tiny only: patch size (default 14); an error for small/base"},
  "layerscale_init":{"type":"number","minimum":0,"description":"LayerScale init (default 1 for tiny, 1e-5 otherwise; 0 disables)"},
  "init_checkpoint":{"type":"string","format":"path","minLength":1,"description":"continue from these weights (model.safetensors in the Hugging Face Dinov2 or DINOv2 layout, e.g. microsoft/rad-dino or facebook/dinov2-base) instead of a random init; the architecture must match arch (the first mismatching tensor is named)"},
  "train_fraction":{"type":"number","exclusiveMinimum":0,"maximum":1,"default":1,"description":"share of the training images used, a subset drawn with the seed (data-scale ablations)"},
  "teacher_targets":{"type":"string","enum":["centering","sinkhorn"],
    "description":"teacher target normalisation: EMA centering + softmax (DINOv2's default config) or Sinkhorn-Knopp, 3 iterations (DINOv2's ViT-L/g configs); default sinkhorn for tiny, centering otherwise"},
  "teacher_temp":{"type":"number","exclusiveMinimum":0,"description":"teacher temperature after warm-up (default 0.04 for tiny, 0.07 otherwise)"},
  "warmup_teacher_temp":{"type":"number","exclusiveMinimum":0,"default":0.04,"description":"teacher temperature at iteration 0, ramped linearly over the first 3 of 10 schedule epochs"},
  "teacher_momentum":{"type":"number","minimum":0,"maximum":1,"description":"EMA momentum at the start, cosine to 1 (default 0.99 for tiny, 0.992 otherwise)"},
  "weight_decay":{"type":"number","minimum":0,"default":0.04,"description":"weight decay at the start"},
  "weight_decay_end":{"type":"number","minimum":0,"description":"weight decay at the end, cosine (default 0.04 for tiny, 0.4 otherwise)"},
  "global_crop_scale":{"type":"array","items":{"type":"number"},"minItems":2,"maxItems":2,
    "description":"[min, max] area fraction of global crops (default [0.6, 1] for tiny, [0.32, 1] otherwise)"},
  "local_crop_scale":{"type":"array","items":{"type":"number"},"minItems":2,"maxItems":2,
    "description":"[min, max] area fraction of local crops (default [0.2, 0.5] for tiny, [0.05, 0.32] otherwise)"},
  "blur_probabilities":{"type":"array","items":{"type":"number","minimum":0,"maximum":1},"minItems":3,"maxItems":3,
    "description":"Gaussian blur probability of [global crop 1, global crop 2, local crops] (default [0.3, 0.1, 0.1] for tiny; [0, 0.9, 0.5] otherwise: DINOv2's effective values, its inverted blur wrapper turning the configured 1 / 0.1 / 0.5 into 0 / 0.9 / 0.5)"},
  "blur_sigma_max":{"type":"number","minimum":0.1,"description":"largest blur sigma in pixels (default 1 for tiny, 2 otherwise)"},
  "solarize_probability":{"type":"number","minimum":0,"maximum":1,"description":"solarization probability of global crop 2 (default 0 for tiny, 0.2 otherwise)"},
  "koleo_weight":{"type":"number","minimum":0,"default":0.1,"description":"KoLeo loss weight"},
  "ibot_weight":{"type":"number","minimum":0,"default":1.0,"description":"iBOT masked-patch loss weight"},
  "drop_path":{"type":"number","minimum":0,"exclusiveMaximum":1,"description":"student stochastic depth rate (default 0 for tiny, 0.3 otherwise)"}}})json";
}

}  // namespace radflow::plugins::pretrain
