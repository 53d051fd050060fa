// Analytic FLOP count of one DINOv2 training step (SslTrainer::step) for the
// pretrain_step benchmark: matmul / conv FLOPs only (a multiply-add counts 2), the
// work a "share of the machine's matmul rate" should be measured against.
//
// Plain functions of plain values; torch-free, safe from any thread.
#pragma once

#include <cstdint>

namespace radflow::bench {

struct StepShape {
  int64_t batch = 16;
  int64_t n_global_crops = 2;
  int64_t n_local_crops = 4;
  int64_t global_crop = 224, local_crop = 98, patch = 14, in_chans = 3;
  int64_t embed_dim = 384, depth = 12, mlp_hidden = 1536;
  int64_t head_hidden = 2048, head_bottleneck = 256, head_out = 65536, head_layers = 3;
  // The student's drop path in DINOv2's subset form (SslTrainer's): each residual
  // branch runs on max(floor(n (1 - rate)), 1) of a crop batch's n crops.
  double student_drop_path = 0.3;
};

// Crops of a batch of n that a residual branch runs on under subset drop path.
int64_t subset_kept(int64_t n, double rate);

// One ViT forward of one crop of `side` pixels, in FLOPs.
double vit_forward_flops(const StepShape& s, int64_t side);
// Its parts: the patch embedding and one transformer block.
double patch_embed_flops(const StepShape& s, int64_t side);
double vit_block_flops(const StepShape& s, int64_t side);
// The DINO/iBOT head on one token, in FLOPs.
double head_token_flops(const StepShape& s);
// The whole step, with `masked_patches` = M, the masked patch tokens of the step's
// global crops (the iBOT head runs on M tokens for the student and the teacher).
double step_flops(const StepShape& s, int64_t masked_patches);

}  // namespace radflow::bench
