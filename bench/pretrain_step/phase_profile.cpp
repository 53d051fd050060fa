#include "bench/pretrain_step/phase_profile.h"

#include <chrono>

#include "plugins/ml/ssl/sharded_backbone.h"
#include "plugins/ml/ssl/teacher_ema.h"
#include "plugins/ml/torch/cpu_shards.h"

namespace radflow::bench {
namespace {

using Clock = std::chrono::steady_clock;

class Stopwatch {
 public:
  explicit Stopwatch(PhaseProfile* profile) : profile_(profile), last_(Clock::now()) {}
  void lap(const char* name) {
    const auto now = Clock::now();
    profile_->phases.emplace_back(name, std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }

 private:
  PhaseProfile* profile_;
  Clock::time_point last_;
};

}  // namespace

double PhaseProfile::total() const {
  double sum = 0;
  for (const auto& phase : phases) sum += phase.second;
  return sum;
}

PhaseProfile profile_step(ml::ssl::SslTrainer& trainer, const torch::Tensor& images,
                          const ml::ssl::SslTrainerOptions& options, int64_t patch_size, uint64_t seed) {
  using namespace radflow::ml::ssl;
  PhaseProfile profile;
  SslModel& student = trainer.student();
  SslModel& teacher = trainer.teacher();
  const SslScheduleValues v = trainer.schedules().at(trainer.iteration());
  // Fresh centers at the trainer's current values: the replay must not touch the
  // trainer's own (it has no setter-free access to them anyway).
  TeacherCentering dino_center(trainer.dino_center().center().size(-1));
  TeacherCentering ibot_center(trainer.ibot_center().center().size(-1));
  dino_center.set_center(trainer.dino_center().center().clone());
  ibot_center.set_center(trainer.ibot_center().center().clone());
  MultiCropOptions crop_options = options.crops;
  crop_options.out_channels = student->backbone->config().in_chans;
  const MultiCropAugmentation augmentation(crop_options);
  BlockMaskOptions mask_options;
  mask_options.grid_h = mask_options.grid_w = crop_options.global_crop_size / patch_size;
  mask_options.max_num_patches = dinov2_max_block_patches(crop_options.global_crop_size, patch_size);
  const BlockMaskGenerator mask_generator(mask_options);
  const int64_t batch = images.size(0);

  Stopwatch watch(&profile);
  trainer.optimizer().apply_schedule(v.lr, v.weight_decay, v.last_layer_lr);
  // Row shards on the CPU, as the trainer (sharded_backbone.h).
  const int64_t shards = ml::cpu_shard_count(options.cpu_shards, batch, options.device);
  ShardedBackbonePasses backbone_passes(shards, seed);
  std::vector<MultiCrops> per_image(static_cast<size_t>(batch));
  ml::for_each_row(batch, shards, [&](int64_t i) {
    SslRng rng(seed * 1000003 + static_cast<uint64_t>(i));
    per_image[static_cast<size_t>(i)] = augmentation(images[i].to(torch::kFloat), rng);
  });
  const MultiCrops crops = stack_crops(per_image);
  SslRng mask_rng(seed);
  const MaskBatch masks = collate_masks(2 * batch, mask_generator, options.masking, mask_rng);
  profile.masked_patches = masks.n_masked_patches;
  watch.lap("augmentation + masks");

  torch::Tensor teacher_cls_probs, teacher_patch_probs;
  {
    torch::NoGradGuard no_grad;
    const ml::ViTOutput out = backbone_passes.forward(teacher->backbone, crops.global_crops);
    watch.lap("teacher backbone forward");
    const torch::Tensor patches = out.patch_tokens.flatten(0, 1).index_select(0, masks.mask_indices);
    const std::vector<torch::Tensor> logits = teacher->head_logits({out.cls}, patches);
    const torch::Tensor& cls_logits = logits[0];
    const torch::Tensor& patch_logits = logits[1];
    watch.lap("teacher heads forward");
    if (options.teacher_targets == TeacherTargets::kSinkhorn) {
      teacher_cls_probs = sinkhorn_knopp(cls_logits.to(torch::kFloat), v.teacher_temp, options.sinkhorn_iterations);
      teacher_patch_probs = sinkhorn_knopp(patch_logits.to(torch::kFloat), v.teacher_temp, options.sinkhorn_iterations);
    } else {
      teacher_cls_probs = dino_center.softmax_centered(cls_logits, v.teacher_temp);
      teacher_patch_probs = ibot_center.softmax_centered(patch_logits, v.teacher_temp);
      dino_center.update(cls_logits);
      ibot_center.update(patch_logits);
    }
    // The trainer's collapse monitor (entropies over [2B, K], feature std over [2B, D]).
    auto entropy = [](const torch::Tensor& p) { return -(p * torch::log(p.clamp_min(1e-30))).sum(-1); };
    namespace F = torch::nn::functional;
    (void)entropy(teacher_cls_probs).mean().item<double>();
    (void)entropy(teacher_cls_probs.mean(0)).item<double>();
    (void)F::normalize(out.cls, F::NormalizeFuncOptions().dim(-1)).std(0).mean().item<double>();
    watch.lap(options.teacher_targets == TeacherTargets::kSinkhorn ? "teacher Sinkhorn + monitor"
                                                                   : "teacher centering + monitor");
  }

  const ml::ViTOutput global = backbone_passes.forward(student->backbone, crops.global_crops, masks.masks);
  const torch::Tensor local_cls = backbone_passes.forward(student->backbone, crops.local_crops).cls;
  watch.lap("student backbone forward");
  SslLossInputs in;
  in.n_global_crops = 2;
  in.n_local_crops = options.crops.n_local_crops;
  const std::vector<torch::Tensor> logits = student->head_logits(
      {global.cls, local_cls}, global.patch_tokens.flatten(0, 1).index_select(0, masks.mask_indices));
  in.student_global_logits = logits[0];
  in.student_local_logits = logits[1];
  in.student_masked_patch_logits = logits[2];
  watch.lap("student heads forward");
  in.teacher_global_probs = teacher_cls_probs;
  in.student_global_cls = global.cls;
  in.teacher_masked_patch_probs = teacher_patch_probs;
  in.masks = masks.masks;
  in.masks_weight = masks.masks_weight;
  in.student_temp = options.student_temp;
  const SslLossTerms terms = ssl_loss(in, options.loss_weights);
  watch.lap("losses");

  trainer.optimizer().optimizer().zero_grad();
  terms.total.backward();
  backbone_passes.backward();
  watch.lap("backward");
  torch::nn::utils::clip_grad_norm_(student->backbone->parameters(), options.clip_grad);
  torch::nn::utils::clip_grad_norm_(student->dino_head->parameters(), options.clip_grad);
  watch.lap("gradient clipping");
  trainer.optimizer().optimizer().step();
  watch.lap("AdamW step");
  ema_update(*teacher, *student, v.teacher_momentum);
  (void)terms.total.item<double>();
  watch.lap("teacher EMA");
  return profile;
}

}  // namespace radflow::bench
