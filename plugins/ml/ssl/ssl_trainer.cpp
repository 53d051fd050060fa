#include "plugins/ml/ssl/ssl_trainer.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/check.h"
#include "plugins/ml/ssl/sharded_backbone.h"
#include "plugins/ml/ssl/teacher_ema.h"
#include "plugins/ml/torch/cpu_shards.h"
#include "plugins/ml/torch/cuda_autocast.h"

namespace radflow::ml::ssl {
namespace {

// splitmix64 of (seed, iteration, stream): independent per-step seeds, so no RNG state
// has to be carried between steps.
uint64_t step_seed(uint64_t seed, int64_t iteration, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(iteration) * 2 + stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// A seed per (step, key) that no step_seed() stream and no other key shares: the
// per-image crop seeds (key = global-batch index) and the drop-path seeds of ranks > 0.
uint64_t keyed_seed(uint64_t seed, int64_t iteration, uint64_t domain, uint64_t key) {
  return splitmix64(splitmix64(splitmix64(seed ^ domain) + static_cast<uint64_t>(iteration)) + key);
}
constexpr uint64_t kImageDomain = 0x696D616765ULL;     // "image"
constexpr uint64_t kDropPathDomain = 0x64726F70ULL;    // "drop"
constexpr uint64_t kShardDomain = 0x7368617264ULL;     // "shard": the CPU shards' drop path

// Undefined gradients become zeros before the all-reduce, as DDP treats them, so every
// rank reduces the same list whatever its local graph touched.
std::vector<torch::Tensor> gradients_for_reduce(torch::nn::Module& module) {
  std::vector<torch::Tensor> grads;
  for (auto& p : module.parameters()) {
    if (!p.requires_grad()) continue;
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  return grads;
}

DinoHeadOptions with_in_dim(DinoHeadOptions o, int64_t in_dim) {
  o.in_dim = in_dim;
  return o;
}

MultiCropOptions fixed_crops(MultiCropOptions crops, const ViTConfig& vit) {
  crops.out_channels = vit.in_chans;
  return crops;
}

BlockMaskOptions mask_options(const ViTConfig& vit, const MultiCropOptions& crops) {
  RF_CHECK(crops.global_crop_size % vit.patch_size == 0 && crops.local_crop_size % vit.patch_size == 0,
           "SslTrainer: crop sizes must be multiples of the patch size");
  BlockMaskOptions o;
  o.grid_h = o.grid_w = crops.global_crop_size / vit.patch_size;
  o.max_num_patches = dinov2_max_block_patches(crops.global_crop_size, vit.patch_size);
  return o;
}

void clip(torch::nn::Module& module, double max_norm) {
  if (max_norm > 0) torch::nn::utils::clip_grad_norm_(module.parameters(), max_norm);
}

nlohmann::json tensor_to_json(const torch::Tensor& t) {
  const torch::Tensor flat = t.detach().to(torch::kCPU, torch::kFloat).contiguous().flatten();
  const float* data = flat.data_ptr<float>();
  return std::vector<float>(data, data + flat.numel());
}

}  // namespace

SslModelImpl::SslModelImpl(const ViTConfig& vit, const DinoHeadOptions& dino, const DinoHeadOptions& ibot,
                           bool separate_ibot_head) {
  backbone = register_module("backbone", VisionTransformer(vit));
  dino_head = register_module("dino_head", DinoHead(with_in_dim(dino, vit.embed_dim)));
  if (separate_ibot_head) ibot_head = register_module("ibot_head", DinoHead(with_in_dim(ibot, vit.embed_dim)));
}

std::vector<torch::Tensor> SslModelImpl::head_logits(const std::vector<torch::Tensor>& cls_tokens,
                                                     const torch::Tensor& masked_patch_tokens) {
  std::vector<torch::Tensor> out;
  if (ibot_head) {
    for (const auto& cls : cls_tokens) out.push_back(dino_head->forward(cls));
    out.push_back(ibot_head->forward(masked_patch_tokens));
    return out;
  }
  std::vector<torch::Tensor> rows = cls_tokens;
  rows.push_back(masked_patch_tokens);
  std::vector<int64_t> sizes;
  for (const auto& r : rows) sizes.push_back(r.size(0));
  for (auto& part : dino_head->forward(torch::cat(rows, 0)).split_with_sizes(sizes, 0)) out.push_back(part);
  return out;
}

SslTrainer::SslTrainer(const ViTConfig& vit, const DinoHeadOptions& dino_head, const DinoHeadOptions& ibot_head,
                       const SslScheduleConfig& schedule, const SslTrainerOptions& options)
    : options_(options),
      schedules_(schedule, options.global_batch_size),
      freeze_last_layer_iters_(schedule.freeze_last_layer_epochs * schedule.epoch_length),
      dino_center_(dino_head.out_dim, 0.9, CenterReduction::kAllRows, options.collective.get()),
      ibot_center_(options.separate_ibot_head ? ibot_head.out_dim : dino_head.out_dim, 0.9,
                   CenterReduction::kMeanOfRankMeans, options.collective.get()),
      augmentation_(fixed_crops(options.crops, vit)),
      mask_generator_(mask_options(vit, options.crops)) {
  RF_CHECK(validate(vit).ok(), "SslTrainer: invalid ViTConfig");
  torch::manual_seed(step_seed(options.seed, -1, 0));  // parameter init
  ViTConfig student_vit = vit;
  student_vit.drop_path_rate = options.student_drop_path_rate;
  student_vit.drop_path_on_subset = true;  // DINOv2 student: the list path always drops on a subset
  ViTConfig teacher_vit = vit;
  teacher_vit.drop_path_rate = 0.0;  // eval mode anyway; keeps the layouts equal
  student_ = SslModel(student_vit, dino_head, ibot_head, options.separate_ibot_head);
  teacher_ = SslModel(teacher_vit, dino_head, ibot_head, options.separate_ibot_head);
  init_teacher_from_student(*teacher_, *student_);
  student_->to(options.device);  // before the optimizer takes the parameters
  teacher_->to(options.device);
  student_->train();

  std::vector<ParamGroupEntry> entries =
      param_group_entries(*student_->backbone, vit.depth, options.param_groups, "backbone.");
  auto add = [&](const DinoHead& head, const std::string& prefix) {
    auto more = param_group_entries(*head, 0, options.param_groups, prefix);
    entries.insert(entries.end(), more.begin(), more.end());
  };
  add(student_->dino_head, "dino_head.");
  if (student_->ibot_head) add(student_->ibot_head, "ibot_head.");
  optimizer_ = std::make_unique<SslOptimizer>(fuse_param_groups(entries), options.adamw);
}

StepStats SslTrainer::step(const torch::Tensor& images, int64_t global_offset) {
  RF_CHECK(images.dim() == 4 && images.size(1) == 1 && images.size(0) >= 2,
           "SslTrainer::step: images must be [B >= 2, 1, H, W]");
  return step(images.unbind(0), global_offset);
}

StepStats SslTrainer::step(const std::vector<torch::Tensor>& images, int64_t global_offset) {
  RF_CHECK(images.size() >= 2, "SslTrainer::step: needs B >= 2 images");
  for (const auto& image : images) {
    RF_CHECK(image.dim() == 3 && image.size(0) == 1, "SslTrainer::step: each image must be [1, H, W]");
  }
  const auto start = std::chrono::steady_clock::now();
  const int64_t batch = static_cast<int64_t>(images.size());
  Collective* const collective = options_.collective.get();
  const bool distributed = is_distributed(collective);
  const int64_t world = distributed ? collective->world_size() : 1;
  const int64_t rank = distributed ? collective->rank() : 0;
  const int64_t global_batch = batch * world;
  const int64_t offset = global_offset >= 0 ? global_offset : rank * batch;
  RF_CHECK(offset + batch <= global_batch, "SslTrainer::step: shard outside the global batch");
  const int64_t n_local = options_.crops.n_local_crops;
  StepStats stats;
  stats.iteration = iteration_;
  const SslScheduleValues v = schedules_.at(iteration_);
  optimizer_->apply_schedule(v.lr, v.weight_decay, v.last_layer_lr);

  // Drop path draws per rank (rank 0 keeps the single-process stream).
  torch::manual_seed(rank == 0 ? step_seed(options_.seed, iteration_, 1)
                               : keyed_seed(options_.seed, iteration_, kDropPathDomain, static_cast<uint64_t>(rank)));
  const torch::Device device = options_.device;
  // On the CPU, the augmentation and the backbones run in row shards, one per intra-op
  // thread (sharded_backbone.h); elsewhere, and with one thread, in one piece.
  const int64_t shards = cpu_shard_count(options_.cpu_shards, batch, device);
  ShardedBackbonePasses backbone_passes(
      shards, keyed_seed(options_.seed, iteration_, kShardDomain, static_cast<uint64_t>(rank)));
  std::vector<MultiCrops> per_image(static_cast<size_t>(batch));
  for_each_row(batch, shards, [&](int64_t i) {
    SslRng image_rng(keyed_seed(options_.seed, iteration_, kImageDomain, static_cast<uint64_t>(offset + i)));
    per_image[static_cast<size_t>(i)] = augmentation_(images[static_cast<size_t>(i)].to(torch::kFloat), image_rng);
  });
  MultiCrops crops = stack_crops(per_image);
  crops.global_crops = crops.global_crops.to(device);
  if (crops.local_crops.defined()) crops.local_crops = crops.local_crops.to(device);
  // Every rank draws the masks of all 2 * global_batch crops (stratified over the global
  // batch, as one process would) and keeps the rows of its images' two global crops.
  SslRng mask_rng(step_seed(options_.seed, iteration_, 0));
  MaskBatch masks = collate_masks(2 * global_batch, mask_generator_, options_.masking, mask_rng);
  if (global_batch != batch) {
    const torch::Tensor mine = torch::arange(offset, offset + batch, torch::kLong);
    masks = select_crops(masks, torch::cat({mine, mine + global_batch}));
  }
  masks.masks = masks.masks.to(device);
  masks.mask_indices = masks.mask_indices.to(device);
  if (masks.masks_weight.defined()) masks.masks_weight = masks.masks_weight.to(device);
  // Forward passes and losses under bf16 autocast on CUDA; the backward follows the
  // dtypes the forward chose.
  std::optional<CudaAutocastGuard> autocast(std::in_place, device.is_cuda() && options_.bf16_autocast);

  // Teacher targets from the unmasked global crops.
  torch::Tensor teacher_cls_probs, teacher_patch_probs;
  {
    torch::NoGradGuard no_grad;
    const ViTOutput out = backbone_passes.forward(teacher_->backbone, crops.global_crops);
    const torch::Tensor patches = out.patch_tokens.flatten(0, 1).index_select(0, masks.mask_indices);
    // Targets, centers and Sinkhorn sums in float32 whatever the autocast dtype.
    const std::vector<torch::Tensor> logits = teacher_->head_logits({out.cls}, patches);
    const torch::Tensor cls_logits = logits[0].to(torch::kFloat);
    const torch::Tensor patch_logits = logits[1].to(torch::kFloat);
    if (options_.teacher_targets == TeacherTargets::kSinkhorn) {
      teacher_cls_probs = sinkhorn_knopp(cls_logits, v.teacher_temp, options_.sinkhorn_iterations, collective);
      teacher_patch_probs = sinkhorn_knopp(patch_logits, v.teacher_temp, options_.sinkhorn_iterations, collective);
    } else {
      teacher_cls_probs = dino_center_.softmax_centered(cls_logits, v.teacher_temp);
      teacher_patch_probs = ibot_center_.softmax_centered(patch_logits, v.teacher_temp);
      dino_center_.update(cls_logits);
      ibot_center_.update(patch_logits);
    }
    auto entropy = [](const torch::Tensor& p) { return -(p * torch::log(p.clamp_min(1e-30))).sum(-1); };
    namespace F = torch::nn::functional;
    const torch::Tensor normed = F::normalize(out.cls, F::NormalizeFuncOptions().dim(-1));
    if (!distributed) {
      stats.teacher_entropy = entropy(teacher_cls_probs).mean().item<double>();
      stats.teacher_batch_entropy = entropy(teacher_cls_probs.mean(0)).item<double>();
      stats.teacher_feature_std = normed.std(0).mean().item<double>();
    } else {
      // Global-batch monitor from summed moments: [sum entropy, sum p (K), sum x (D), sum x^2 (D)].
      const torch::Tensor p = teacher_cls_probs.to(torch::kFloat), x = normed.to(torch::kFloat);
      torch::Tensor sums = torch::cat({entropy(p).sum().reshape({1}), p.sum(0), x.sum(0), x.square().sum(0)});
      collective->all_reduce_sum(sums);
      const int64_t k = p.size(1), d = x.size(1);
      const double rows = static_cast<double>(p.size(0) * world);
      stats.teacher_entropy = sums[0].item<double>() / rows;
      stats.teacher_batch_entropy = entropy(sums.narrow(0, 1, k) / rows).item<double>();
      const torch::Tensor mean = sums.narrow(0, 1 + k, d) / rows;
      const torch::Tensor var = (sums.narrow(0, 1 + k + d, d) - rows * mean.square()) / (rows - 1);
      stats.teacher_feature_std = var.clamp_min(0).sqrt().mean().item<double>();
    }
  }

  // Student: masked globals, unmasked locals, heads on CLS and masked patches.
  const ViTOutput global = backbone_passes.forward(student_->backbone, crops.global_crops, masks.masks);
  SslLossInputs in;
  in.n_global_crops = 2;
  in.n_local_crops = n_local;
  const torch::Tensor masked_patches = global.patch_tokens.flatten(0, 1).index_select(0, masks.mask_indices);
  std::vector<torch::Tensor> cls_tokens{global.cls};
  if (n_local > 0) cls_tokens.push_back(backbone_passes.forward(student_->backbone, crops.local_crops).cls);
  const std::vector<torch::Tensor> logits = student_->head_logits(cls_tokens, masked_patches);
  in.student_global_logits = logits[0];
  if (n_local > 0) in.student_local_logits = logits[1];
  in.student_masked_patch_logits = logits.back();
  in.teacher_global_probs = teacher_cls_probs;
  in.student_global_cls = global.cls;
  in.teacher_masked_patch_probs = teacher_patch_probs;
  in.masks = masks.masks;
  in.masks_weight = masks.masks_weight;
  in.student_temp = options_.student_temp;
  const SslLossTerms terms = ssl_loss(in, options_.loss_weights);
  autocast.reset();

  optimizer_->optimizer().zero_grad();
  terms.total.backward();
  backbone_passes.backward();  // the shards' graphs, when the backbones were sharded
  if (distributed) {
    std::vector<torch::Tensor> grads = gradients_for_reduce(*student_);
    all_reduce_mean_bucketed(*collective, grads);
  }
  clip(*student_->backbone, options_.clip_grad);
  clip(*student_->dino_head, options_.clip_grad);
  if (student_->ibot_head) clip(*student_->ibot_head, options_.clip_grad);
  // The last-layer freeze is the zero last-layer lr of the schedule alone (DINOv2's
  // train.py): its gradients still reach AdamW, whose moments keep accumulating, and
  // AdamW's update and decoupled weight decay both scale with the zero lr.
  optimizer_->optimizer().step();
  ema_update(*teacher_, *student_, v.teacher_momentum);
  ++iteration_;

  auto value = [](const torch::Tensor& t) { return t.defined() ? t.item<double>() : 0.0; };
  stats.total_loss = value(terms.total);
  stats.dino_local_loss = value(terms.dino_local);
  stats.dino_global_loss = value(terms.dino_global);
  stats.koleo_loss = value(terms.koleo);
  stats.ibot_loss = value(terms.ibot);
  stats.n_masked_patches = masks.n_masked_patches;
  if (distributed) {
    // Each rank's losses are means over its shard: their average is the global batch's.
    // On the training device: NCCL reduces CUDA tensors only.
    std::vector<torch::Tensor> both{
        torch::tensor({stats.total_loss, stats.dino_local_loss, stats.dino_global_loss, stats.koleo_loss,
                       stats.ibot_loss}, torch::kDouble).to(device),
        torch::tensor({stats.n_masked_patches}, torch::kLong).to(device)};
    collective->all_reduce_sum(both);
    torch::Tensor logged = both[0].cpu(), masked = both[1].cpu();
    logged /= static_cast<double>(world);
    stats.total_loss = logged[0].item<double>();
    stats.dino_local_loss = logged[1].item<double>();
    stats.dino_global_loss = logged[2].item<double>();
    stats.koleo_loss = logged[3].item<double>();
    stats.ibot_loss = logged[4].item<double>();
    stats.n_masked_patches = masked[0].item<int64_t>();
  }
  stats.lr = v.lr;
  stats.weight_decay = v.weight_decay;
  stats.last_layer_lr = v.last_layer_lr;
  stats.teacher_momentum = v.teacher_momentum;
  stats.teacher_temp = v.teacher_temp;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stats.images_per_second = seconds > 0 ? static_cast<double>(batch) / seconds : 0.0;
  return stats;
}

Status SslTrainer::save(const std::string& folder) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return Status::error("io_error", "cannot create " + folder + ": " + ec.message(), folder);
  try {
    torch::save(student_, (fs::path(folder) / "student.pt").string());
    torch::save(teacher_, (fs::path(folder) / "teacher.pt").string());
    torch::save(optimizer_->optimizer(), (fs::path(folder) / "optimizer.pt").string());
  } catch (const std::exception& e) {
    return Status::error("io_error", std::string("saving trainer state: ") + e.what(), folder);
  }
  nlohmann::json j;
  j["iteration"] = iteration_;
  j["seed"] = options_.seed;
  j["dino_center"] = tensor_to_json(dino_center_.center());
  j["ibot_center"] = tensor_to_json(ibot_center_.center());
  std::ofstream out(fs::path(folder) / "trainer.json");
  out << j.dump();
  if (!out) return Status::error("io_error", "cannot write trainer.json", folder);
  return Status();
}

Status SslTrainer::load(const std::string& folder) {
  namespace fs = std::filesystem;
  nlohmann::json j;
  try {
    std::ifstream in(fs::path(folder) / "trainer.json");
    if (!in) return Status::error("io_error", "cannot read trainer.json", folder);
    j = nlohmann::json::parse(in);
    if (j.at("seed").get<uint64_t>() != options_.seed) {
      return Status::error("trainer_mismatch", "saved seed differs from this trainer's", folder);
    }
    auto center = [&](const char* key, const TeacherCentering& c) {
      const auto values = j.at(key).get<std::vector<float>>();
      if (static_cast<int64_t>(values.size()) != c.center().numel()) {
        throw std::runtime_error(std::string(key) + " has the wrong size");
      }
      return torch::tensor(values).reshape(c.center().sizes());
    };
    const torch::Tensor dino = center("dino_center", dino_center_);
    const torch::Tensor ibot = center("ibot_center", ibot_center_);
    torch::load(student_, (fs::path(folder) / "student.pt").string(), options_.device);
    torch::load(teacher_, (fs::path(folder) / "teacher.pt").string(), options_.device);
    torch::load(optimizer_->optimizer(), (fs::path(folder) / "optimizer.pt").string(), options_.device);
    dino_center_.set_center(dino);
    ibot_center_.set_center(ibot);
    iteration_ = j.at("iteration").get<int64_t>();
  } catch (const std::exception& e) {
    return Status::error("io_error", std::string("loading trainer state: ") + e.what(), folder);
  }
  // Loading does not touch the modes or the teacher's requires_grad, but be explicit.
  teacher_->eval();
  for (auto& p : teacher_->parameters()) p.set_requires_grad(false);
  student_->train();
  return Status();
}

}  // namespace radflow::ml::ssl
