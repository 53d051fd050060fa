#include "bench/pretrain_step/step_flops.h"

namespace radflow::bench {

// Per crop with N = (side/p)^2 patches and n = N + 1 tokens, width D, depth L, MLP
// hidden H:
//   patch embed   2 N (C p^2) D
//   per block     qkv 2 n D 3D + proj 2 n D D + fc1 2 n D H + fc2 2 n H D
//                 + attention QK^T 2 n^2 D + AV 2 n^2 D
// LayerNorm, GELU, softmax, residuals and LayerScale are elementwise and not counted.
double patch_embed_flops(const StepShape& s, int64_t side) {
  const double grid = static_cast<double>(side / s.patch);
  return 2.0 * grid * grid * static_cast<double>(s.in_chans * s.patch * s.patch) * static_cast<double>(s.embed_dim);
}

double vit_block_flops(const StepShape& s, int64_t side) {
  const double grid = static_cast<double>(side / s.patch);
  const double n = grid * grid + 1;
  const double d = static_cast<double>(s.embed_dim);
  const double h = static_cast<double>(s.mlp_hidden);
  return 2.0 * n * d * (3 * d + d + 2 * h) + 4.0 * n * n * d;
}

double vit_forward_flops(const StepShape& s, int64_t side) {
  return patch_embed_flops(s, side) + static_cast<double>(s.depth) * vit_block_flops(s, side);
}

int64_t subset_kept(int64_t n, double rate) {
  if (rate <= 0) return n;
  const auto kept = static_cast<int64_t>(static_cast<double>(n) * (1.0 - rate));
  return kept < 1 ? 1 : kept;
}

// Head per token: Linear(D->hidden), (layers-2) x Linear(hidden->hidden),
// Linear(hidden->bottleneck), then the weight-normalised Linear(bottleneck->K). The
// weight norm itself (K x bottleneck, once per call) is elementwise and not counted.
double head_token_flops(const StepShape& s) {
  const double d = static_cast<double>(s.embed_dim), hid = static_cast<double>(s.head_hidden);
  const double bot = static_cast<double>(s.head_bottleneck), k = static_cast<double>(s.head_out);
  return 2.0 * (d * hid + static_cast<double>(s.head_layers - 2) * hid * hid + hid * bot + bot * k);
}

// Step = 3 x student forward (forward + backward, the backward costing two forwards:
// gradients w.r.t. activations and w.r.t. weights) + 1 x teacher forward, where
//   student forward = B n_g embed(global) + k_g blocks(global)
//                     + B n_l embed(local) + k_l blocks(local)
//                     + head on (B n_g + B n_l) CLS tokens + head on M masked patches
// with k_g, k_l the crops each residual branch runs on under subset drop path
//   teacher forward = B n_g ViT(global) + head on B n_g CLS tokens + head on M patches
// (the teacher sees only the unmasked global crops, under no_grad). Loss, centering,
// clipping, AdamW and EMA are elementwise / reductions and not counted.
double step_flops(const StepShape& s, int64_t masked_patches) {
  const double b = static_cast<double>(s.batch);
  const double globals = b * static_cast<double>(s.n_global_crops);
  const double locals = b * static_cast<double>(s.n_local_crops);
  const double m = static_cast<double>(masked_patches);
  const double vit_global = vit_forward_flops(s, s.global_crop);
  const double depth = static_cast<double>(s.depth);
  auto student_vit = [&](int64_t crops, int64_t side) {
    const auto kept = static_cast<double>(subset_kept(crops, s.student_drop_path));
    return static_cast<double>(crops) * patch_embed_flops(s, side) + kept * depth * vit_block_flops(s, side);
  };
  const double head = head_token_flops(s);
  const double student = student_vit(s.batch * s.n_global_crops, s.global_crop) +
                         student_vit(s.batch * s.n_local_crops, s.local_crop) + (globals + locals + m) * head;
  const double teacher = globals * vit_global + (globals + m) * head;
  return 3.0 * student + teacher;
}

}  // namespace radflow::bench
