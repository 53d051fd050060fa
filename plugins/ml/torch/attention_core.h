// The core of multi-head self-attention on CPU, softmax(scale * Q K^T) V, computed
// straight from a fused qkv projection with its own forward and backward.
//
// Why it exists: LibTorch 1.13's CPU bmm walks its batch serially and hands each
// (image, head) product, a few MFLOP, to a multithreaded BLAS call too small to split;
// it also copies q, k, v and the output to contiguous layouts. Measured on the 2-core
// development machine: 37 GFLOP/s for the attention bmm against 280 for a large GEMM.
// Here every (image, head) pair is one single-threaded BLAS call on strided views of
// qkv, the pairs spread over the intra-op threads, and the gradients land in the qkv
// layout, so nothing is copied. The maths is the matmul path's (fp32, softmax over the
// last dim); results agree to rounding.
#pragma once

#include <torch/torch.h>

namespace radflow::ml {

// True when attention_core() handles these inputs: a CPU float32 qkv.
bool attention_core_supports(const torch::Tensor& qkv);

// True when a (image, head) product is large enough for the core to beat LibTorch's
// batched matmul: tokens^2 x head_dim >= 2^20. Each pair costs about ten ATen calls,
// which a small product does not pay back. Measured on the DINOv2 step benchmark:
// ViT-S/14 at 224 (197 tokens, 64 channels a head, 2.5M) ran 11% faster a step with
// the core; the demo's tiny ViT (65 tokens, 24 channels, 0.1M) 5-7% faster without.
bool attention_core_pays_off(int64_t tokens, int64_t head_dim);

// qkv: [B, N, 3C], rows of the last dim q (C), then k (C), then v (C), each split into
// num_heads heads of C / num_heads channels. Returns [B, N, C], heads concatenated in
// order, as DINOv2's Attention does before proj. Differentiable with respect to qkv.
torch::Tensor attention_core(const torch::Tensor& qkv, int64_t num_heads);

}  // namespace radflow::ml
