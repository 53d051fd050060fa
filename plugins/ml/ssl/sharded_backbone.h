// ShardedBackbonePasses: SslTrainer's backbone forwards and their backward, run over
// row shards of the batch on the intra-op threads (plugins/ml/torch/cpu_shards.h) when
// the step trains on the CPU. One shard per thread, each single-threaded inside, so a
// small model stops paying OpenMP's fork/join on each of its thousands of operators.
//
// Only the backbones are sharded: their rows are independent of each other (LayerNorm
// is per token, attention within an image). Everything that mixes rows (heads on the
// concatenated tokens, Sinkhorn, centering, KoLeo, the losses) runs on whole-batch
// tensors on the caller's thread, as without shards. For the student, each shard's
// graph is cut at its outputs: forward() returns leaves that the loss's backward fills
// with gradients, and backward() then runs the shard graphs in parallel and adds their
// parameter gradients in shard order, so the sum is the same whichever shard finished
// first.
//
// Randomness: with more than one shard, each shard's drop path draws from its own
// generator seeded by (drop_path_seed, shard), not from torch's default generator;
// like DDP ranks, each shard draws its own drop-path subset. With one shard the passes
// are the plain forward, the graph is not cut and backward() does nothing.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "plugins/ml/torch/vit.h"

namespace radflow::ml::ssl {

class ShardedBackbonePasses {
 public:
  // `shards` >= 1 (cpu_shard_count()); `drop_path_seed` seeds the shards' generators.
  ShardedBackbonePasses(int64_t shards, uint64_t drop_path_seed);

  // backbone(images, masks) over the shards: cls [B, D] and patch_tokens [B, N, D]
  // (the other ViTOutput fields are left empty with shards > 1). Under grad mode the
  // tensors are leaves cut from the shard graphs; their gradients reach `backbone`'s
  // parameters in backward(). `images` [B, C, H, W] with B >= shards; `masks` [B, N]
  // or undefined.
  ViTOutput forward(VisionTransformer& backbone, const torch::Tensor& images,
                    const torch::Tensor& masks = torch::Tensor());

  // After the loss's backward: carries the cut leaves' gradients through every shard
  // graph recorded by forward() under grad mode, in parallel, and adds the parameter
  // gradients to the backbone's .grad in shard order. Leaves without a gradient are
  // skipped. Clears what it ran; forward() may be called again for the next step.
  void backward();

 private:
  struct Cut {
    torch::Tensor graph_output;  // a shard's output, still in its graph
    torch::Tensor leaf;          // its detached copy that the heads saw
  };
  int64_t shards_;
  std::vector<at::Generator> generators_;  // one per shard, seeded once per pass object
  std::vector<std::vector<Cut>> cuts_;     // per shard
  std::vector<torch::Tensor> parameters_;  // the cut backbone's trainable parameters
  const torch::nn::Module* cut_module_ = nullptr;
};

}  // namespace radflow::ml::ssl
