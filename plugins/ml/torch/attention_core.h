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

// qkv: [B, N, 3C], rows of the last dim q (C), then k (C), then v (C), each split into
// num_heads heads of C / num_heads channels. Returns [B, N, C], heads concatenated in
// order, as DINOv2's Attention does before proj. Differentiable with respect to qkv.
torch::Tensor attention_core(const torch::Tensor& qkv, int64_t num_heads);

}  // namespace radflow::ml
