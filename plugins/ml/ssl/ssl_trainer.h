// SslTrainer: one DINOv2 / RAD-DINO training step as a library
// (research/raddino-method.md §2.10). It owns the student (ViT backbone + DINO head +
// optional separate iBOT head), the teacher (an EMA copy in eval mode, no gradients),
// the two teacher centers, the AdamW param groups and the schedules; step() runs
// multi-crop -> iBOT masks -> teacher targets -> student forward -> loss -> backward ->
// per-submodule clip -> AdamW (last layer at lr 0 while frozen) -> EMA on one batch of
// images.
//
// Randomness: each image's crops come from an SslRng seeded by (seed, iteration, the
// image's index in the global batch), the masks of the whole global batch from one
// seeded by (seed, iteration), and drop path from torch's global CPU generator,
// reseeded from (seed, iteration, rank), or with CPU shards (options.cpu_shards) from
// one generator per shard seeded from (seed, iteration, rank, shard); so the whole
// trainer state is modules + optimizer + centers + iteration, and a resumed trainer
// continues bit for bit (at a fixed thread and shard count). Reseeding the global generator (here and in the constructor, which seeds the
// parameter init from `seed`, identically on every rank) is a side effect callers
// should know about.
//
// Multi-rank (options.collective with world size > 1; one trainer per process, DDP
// style): every rank steps on its own equal-sized shard of the global batch; gradients
// are averaged over the ranks in buckets after backward (before clipping), the centers'
// batch statistics, the Sinkhorn sums and the logged losses / collapse monitor are
// all-reduced. Crops and masks of an image do not depend on the rank that holds it, so
// with KoLeo weight 0 and drop path 0 N ranks give the gradients of one process on the
// concatenated batch. KoLeo is computed on the local batch (as DINOv2: nearest
// neighbours within a rank), drop path draws per rank, and the iBOT center is the mean
// of the ranks' means (DINOv2's), so those three differ from one process.
//
// Owns all its modules; not thread-safe (one training loop drives it). Errors of the
// caller's data or files come back as Status; shape misuse is a programmer error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "common/status.h"
#include "plugins/ml/ssl/collective.h"
#include "plugins/ml/ssl/block_mask_generator.h"
#include "plugins/ml/ssl/dino_head.h"
#include "plugins/ml/ssl/mask_collate.h"
#include "plugins/ml/ssl/multicrop_augmentation.h"
#include "plugins/ml/ssl/param_groups.h"
#include "plugins/ml/ssl/ssl_losses.h"
#include "plugins/ml/ssl/ssl_schedules.h"
#include "plugins/ml/ssl/teacher_centering.h"
#include "plugins/ml/torch/vit.h"

namespace radflow::ml::ssl {

enum class TeacherTargets { kCentering, kSinkhorn };

struct SslTrainerOptions {
  uint64_t seed = 0;
  int64_t global_batch_size = 64;     // for scaled_lr (sqrt rule); not the step's batch
  bool separate_ibot_head = false;    // DINOv2 default: shared head
  TeacherTargets teacher_targets = TeacherTargets::kCentering;
  double student_drop_path_rate = 0.3;  // overrides the ViTConfig's rate, student only
  double clip_grad = 3.0;             // per submodule; <= 0 disables
  double student_temp = 0.1;
  int64_t sinkhorn_iterations = 3;
  MultiCropOptions crops;             // out_channels is forced to the ViT's in_chans
  MaskCollateOptions masking;
  SslLossWeights loss_weights;
  ParamGroupOptions param_groups;
  AdamWSettings adamw;
  // Cross-rank reductions; null (or world size 1): a single process. Shared so the
  // options stay copyable; the trainer keeps it alive.
  std::shared_ptr<Collective> collective;
  // Where the student, teacher and optimizer state live. Images arrive on the CPU and
  // are augmented there; the crops and masks then move to the device.
  torch::Device device = torch::kCPU;
  // On CUDA, run the forward passes and losses under bf16 autocast (DINOv2's mixed
  // precision; the parameters, gradients and optimizer state stay float32). Ignored
  // on the CPU, which trains in float32.
  bool bf16_autocast = true;
  // On the CPU, the augmentation and the backbone passes run in this many row shards
  // in parallel, each single-threaded on its own intra-op thread
  // (sharded_backbone.h): 0 (the default) is one shard per intra-op thread, 1 turns
  // sharding off. Ignored on other devices. The shards' summed gradients equal the
  // unsharded ones up to float rounding; drop path draws per shard.
  int64_t cpu_shards = 0;
};

// The SSL model of one side (student or teacher), named as DINOv2's state dict:
// backbone.*, dino_head.*, ibot_head.* (the last only with a separate iBOT head).
class SslModelImpl : public torch::nn::Module {
 public:
  SslModelImpl(const ViTConfig& vit, const DinoHeadOptions& dino_head,
               const DinoHeadOptions& ibot_head, bool separate_ibot_head);
  // The head used for masked patch tokens.
  DinoHead& patch_head() { return ibot_head ? ibot_head : dino_head; }
  // Head logits for several CLS token batches (DINO head) and the masked patch tokens
  // (iBOT head), in that order. With the shared head (DINOv2's default) all rows go
  // through it in one call, as DINOv2 concatenates them: the weight-normalised last
  // layer is formed once per step and side, and the matmuls are larger. Same values
  // as separate calls.
  std::vector<torch::Tensor> head_logits(const std::vector<torch::Tensor>& cls_tokens,
                                         const torch::Tensor& masked_patch_tokens);

  VisionTransformer backbone{nullptr};
  DinoHead dino_head{nullptr};
  DinoHead ibot_head{nullptr};  // null when shared
};
TORCH_MODULE(SslModel);

struct StepStats {
  int64_t iteration = 0;  // the iteration this step ran (0-based)
  // Losses and the collapse monitor are over the global batch (averaged over ranks).
  double total_loss = 0;
  double dino_local_loss = 0, dino_global_loss = 0, koleo_loss = 0, ibot_loss = 0;  // unweighted
  double lr = 0, weight_decay = 0, last_layer_lr = 0, teacher_momentum = 0, teacher_temp = 0;
  int64_t n_masked_patches = 0;  // over all ranks
  double images_per_second = 0;  // this rank's images
  // Collapse monitor. teacher_entropy: mean entropy of the teacher CLS targets (near
  // log K: uniform collapse; near 0: sharp). teacher_batch_entropy: entropy of their
  // batch mean (near 0: every image on the same prototype, one-hot collapse).
  // teacher_feature_std: mean over dims of the std across the batch of the
  // L2-normalised teacher backbone CLS features (0: every image maps to one point).
  double teacher_entropy = 0;
  double teacher_batch_entropy = 0;
  double teacher_feature_std = 0;
};

class SslTrainer {
 public:
  // dino_head/ibot_head.in_dim are set to the ViT width. Preconditions (checked):
  // validate(vit).ok(); the global crop size is a multiple of the patch size.
  SslTrainer(const ViTConfig& vit, const DinoHeadOptions& dino_head, const DinoHeadOptions& ibot_head,
             const SslScheduleConfig& schedule, const SslTrainerOptions& options);

  // images: [B, 1, H, W] float in [0, 1], B >= 2 (KoLeo needs two rows per crop): this
  // rank's shard, the same B on every rank, of a global batch of B * world_size images.
  // global_offset: the global-batch index of images[0]; -1 means rank * B (rank r holds
  // images [r B, (r + 1) B)). Multi-rank, every rank must call step() the same number
  // of times.
  StepStats step(const torch::Tensor& images, int64_t global_offset = -1);
  // The same for images of any sizes (each [1, H, W] float in [0, 1]): the random
  // resized crops are taken from every image at its own resolution, as DINOv2's
  // RandomResizedCrop does on the decoded image.
  StepStats step(const std::vector<torch::Tensor>& images, int64_t global_offset = -1);

  // Folder with student.pt, teacher.pt, optimizer.pt and trainer.json (iteration,
  // seed, centers). load() expects a trainer built with the same configuration.
  Status save(const std::string& folder) const;
  Status load(const std::string& folder);

  int64_t iteration() const { return iteration_; }
  SslModel& student() { return student_; }
  SslModel& teacher() { return teacher_; }
  const TeacherCentering& dino_center() const { return dino_center_; }
  const TeacherCentering& ibot_center() const { return ibot_center_; }
  SslOptimizer& optimizer() { return *optimizer_; }
  const SslSchedules& schedules() const { return schedules_; }
  int64_t freeze_last_layer_iters() const { return freeze_last_layer_iters_; }

 private:
  SslTrainerOptions options_;
  SslSchedules schedules_;
  int64_t freeze_last_layer_iters_ = 0;
  SslModel student_{nullptr};
  SslModel teacher_{nullptr};
  TeacherCentering dino_center_;
  TeacherCentering ibot_center_;
  std::unique_ptr<SslOptimizer> optimizer_;
  MultiCropAugmentation augmentation_;
  BlockMaskGenerator mask_generator_;
  int64_t iteration_ = 0;
};

}  // namespace radflow::ml::ssl
