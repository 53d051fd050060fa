#include "bench/pretrain_step/step_flops.h"

namespace radflow::bench {

// Per crop with N = (side/p)^2 patches and n = N + 1 tokens, width D, depth L, MLP
// hidden H:
//   patch embed   2 N (C p^2) D
//   per block     qkv 2 n D 3D + proj 2 n D D + fc1 2 n D H + fc2 2 n H D
//                 + attention QK^T 2 n^2 D + AV 2 n^2 D
// LayerNorm, GELU, softmax, residuals and LayerScale are elementwise and not counted.
double vit_forward_flops(const StepShape& s, int64_t side) {
  const double grid = static_cast<double>(side / s.patch);
  const double patches = grid * grid;
  const double n = patches + 1;
  const double d = static_cast<double>(s.embed_dim);
  const double h = static_cast<double>(s.mlp_hidden);
  const double embed = 2.0 * patches * static_cast<double>(s.in_chans * s.patch * s.patch) * d;
  const double block = 2.0 * n * d * (3 * d + d + 2 * h) + 4.0 * n * n * d;
  return embed + static_cast<double>(s.depth) * block;
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
//   student forward = B n_g ViT(global) + B n_l ViT(local)
//                     + head on (B n_g + B n_l) CLS tokens + head on M masked patches
//   teacher forward = B n_g ViT(global) + head on B n_g CLS tokens + head on M patches
// (the teacher sees only the unmasked global crops, under no_grad). Loss, centering,
// clipping, AdamW and EMA are elementwise / reductions and not counted.
double step_flops(const StepShape& s, int64_t masked_patches) {
  const double b = static_cast<double>(s.batch);
  const double globals = b * static_cast<double>(s.n_global_crops);
  const double locals = b * static_cast<double>(s.n_local_crops);
  const double m = static_cast<double>(masked_patches);
  const double vit_global = vit_forward_flops(s, s.global_crop);
  const double vit_local = vit_forward_flops(s, s.local_crop);
  const double head = head_token_flops(s);
  const double student = globals * vit_global + locals * vit_local + (globals + locals + m) * head;
  const double teacher = globals * vit_global + (globals + m) * head;
  return 3.0 * student + teacher;
}

}  // namespace radflow::bench
