#include "plugins/ml/ssl/sharded_backbone.h"

#include <ATen/CPUGeneratorImpl.h>

#include "common/check.h"
#include "plugins/ml/ssl/ssl_rng.h"
#include "plugins/ml/torch/cpu_shards.h"

namespace radflow::ml::ssl {

ShardedBackbonePasses::ShardedBackbonePasses(int64_t shards, uint64_t drop_path_seed)
    : shards_(shards), cuts_(static_cast<size_t>(shards)) {
  RF_CHECK(shards >= 1, "ShardedBackbonePasses: needs at least one shard");
  if (shards_ == 1) return;
  for (int64_t s = 0; s < shards_; ++s) {
    generators_.push_back(at::detail::createCPUGenerator(splitmix64(drop_path_seed + static_cast<uint64_t>(s))));
  }
}

ViTOutput ShardedBackbonePasses::forward(VisionTransformer& backbone, const torch::Tensor& images,
                                         const torch::Tensor& masks) {
  if (shards_ == 1) return backbone->forward(images, masks);
  const int64_t rows = images.size(0);
  RF_CHECK(rows >= shards_, "ShardedBackbonePasses: fewer images than shards");
  const auto ranges = shard_rows(rows, shards_);
  std::vector<ViTOutput> outputs(static_cast<size_t>(shards_));
  for_each_shard(shards_, [&](int64_t s) {
    const DropPathGeneratorScope draws(generators_[static_cast<size_t>(s)]);
    const auto [begin, end] = ranges[static_cast<size_t>(s)];
    const torch::Tensor shard_masks = masks.defined() ? masks.narrow(0, begin, end - begin) : masks;
    outputs[static_cast<size_t>(s)] = backbone->forward(images.narrow(0, begin, end - begin), shard_masks);
  });

  const bool cut = torch::GradMode::is_enabled() && outputs.front().cls.requires_grad();
  if (cut) {
    RF_CHECK(cut_module_ == nullptr || cut_module_ == backbone.get(),
             "ShardedBackbonePasses: one pass object cuts one backbone's graphs");
    if (cut_module_ == nullptr) {
      for (const auto& p : backbone->parameters()) {
        if (p.requires_grad()) parameters_.push_back(p);
      }
      cut_module_ = backbone.get();
    }
  }
  auto leaf_of = [&](int64_t s, const torch::Tensor& t) {
    if (!cut) return t;
    torch::Tensor leaf = t.detach().requires_grad_();
    cuts_[static_cast<size_t>(s)].push_back(Cut{t, leaf});
    return leaf;
  };
  std::vector<torch::Tensor> cls, patches;
  for (int64_t s = 0; s < shards_; ++s) {
    const ViTOutput& o = outputs[static_cast<size_t>(s)];
    cls.push_back(leaf_of(s, o.cls));
    patches.push_back(leaf_of(s, o.patch_tokens));
  }
  ViTOutput out;
  out.cls = torch::cat(cls, 0);
  out.patch_tokens = torch::cat(patches, 0);
  out.grid_h = outputs.front().grid_h;
  out.grid_w = outputs.front().grid_w;
  return out;
}

void ShardedBackbonePasses::backward() {
  if (!parameters_.empty()) {
    std::vector<std::vector<torch::Tensor>> shard_grads(static_cast<size_t>(shards_));
    for_each_shard(shards_, [&](int64_t s) {
      std::vector<torch::Tensor> roots, root_grads;
      for (const Cut& c : cuts_[static_cast<size_t>(s)]) {
        if (!c.leaf.grad().defined()) continue;
        roots.push_back(c.graph_output);
        root_grads.push_back(c.leaf.grad());
      }
      if (roots.empty()) return;
      shard_grads[static_cast<size_t>(s)] = torch::autograd::grad(roots, parameters_, root_grads,
                                                                  /*retain_graph=*/false, /*create_graph=*/false,
                                                                  /*allow_unused=*/true);
    });
    // In shard order, whichever shard finished first: the sum is reproducible.
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < parameters_.size(); ++i) {
      torch::Tensor sum;
      for (const auto& grads : shard_grads) {
        if (grads.empty() || !grads[i].defined()) continue;
        sum = sum.defined() ? sum + grads[i] : grads[i];
      }
      if (!sum.defined()) continue;
      torch::Tensor& grad = parameters_[i].mutable_grad();
      if (grad.defined()) {
        grad.add_(sum);
      } else {
        grad = sum;
      }
    }
  }
  for (auto& shard : cuts_) shard.clear();
  parameters_.clear();
  cut_module_ = nullptr;
}

}  // namespace radflow::ml::ssl
