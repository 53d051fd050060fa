#include "plugins/ml/ssl/param_groups.h"

#include <cmath>
#include <utility>

#include "common/check.h"

namespace radflow::ml::ssl {
namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The block index following "blocks." at `pos` ("blocks.7.mlp..." -> 7).
int64_t block_index_after(const std::string& name, size_t pos) {
  const size_t start = pos + 7;  // strlen("blocks.")
  const size_t end = name.find('.', start);
  return std::stoll(name.substr(start, end == std::string::npos ? std::string::npos : end - start));
}

}  // namespace

int64_t vit_layer_id(const std::string& name, int64_t num_layers, bool is_backbone) {
  if (!(is_backbone || name.rfind("backbone", 0) == 0)) return num_layers + 1;
  for (const char* embedding : {"pos_embed", "patch_embed", "mask_token", "cls_token", "register_tokens"}) {
    if (contains(name, embedding)) return 0;
  }
  if (contains(name, "residual.")) return num_layers + 1;
  const size_t dotted = name.find(".blocks.");
  if (dotted != std::string::npos) return block_index_after(name, dotted + 1) + 1;
  const size_t plain = name.find("blocks.");
  if (plain != std::string::npos) return block_index_after(name, plain) + 1;
  return num_layers + 1;
}

std::vector<ParamGroupEntry> param_group_entries(const torch::nn::Module& module, int64_t num_blocks,
                                                 const ParamGroupOptions& options, const std::string& prefix) {
  std::vector<ParamGroupEntry> entries;
  for (const auto& item : module.named_parameters()) {
    if (!item.value().requires_grad()) continue;
    const std::string& name = item.key();
    ParamGroupEntry e;
    e.name = prefix + name;
    e.param = item.value();
    e.layer_id = vit_layer_id(name, num_blocks, num_blocks > 0);
    e.lr_multiplier = std::pow(options.layerwise_decay, static_cast<double>(num_blocks + 1 - e.layer_id));
    e.is_last_layer = contains(name, "last_layer");
    if (ends_with(name, ".bias") || contains(name, "norm") || contains(name, "gamma")) e.wd_multiplier = 0.0;
    if (contains(name, "patch_embed")) e.lr_multiplier *= options.patch_embed_lr_mult;
    entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<FusedParamGroup> fuse_param_groups(const std::vector<ParamGroupEntry>& entries) {
  std::vector<FusedParamGroup> groups;
  for (const auto& e : entries) {
    FusedParamGroup* group = nullptr;
    for (auto& g : groups) {
      if (g.lr_multiplier == e.lr_multiplier && g.wd_multiplier == e.wd_multiplier &&
          g.is_last_layer == e.is_last_layer) {
        group = &g;
        break;
      }
    }
    if (group == nullptr) {
      groups.emplace_back();
      group = &groups.back();
      group->lr_multiplier = e.lr_multiplier;
      group->wd_multiplier = e.wd_multiplier;
      group->is_last_layer = e.is_last_layer;
    }
    group->names.push_back(e.name);
    group->params.push_back(e.param);
  }
  return groups;
}

SslOptimizer::SslOptimizer(std::vector<FusedParamGroup> groups, const AdamWSettings& settings)
    : groups_(std::move(groups)) {
  RF_CHECK(!groups_.empty(), "SslOptimizer: no parameter groups");
  const auto defaults = torch::optim::AdamWOptions(0.0)
                            .betas(std::make_tuple(settings.beta1, settings.beta2))
                            .eps(settings.eps)
                            .weight_decay(0.0);
  std::vector<torch::optim::OptimizerParamGroup> torch_groups;
  for (const auto& g : groups_) {
    torch_groups.emplace_back(g.params, std::make_unique<torch::optim::AdamWOptions>(defaults));
  }
  optimizer_ = std::make_unique<torch::optim::AdamW>(std::move(torch_groups), defaults);
}

void SslOptimizer::apply_schedule(double lr, double weight_decay, double last_layer_lr) {
  auto& torch_groups = optimizer_->param_groups();
  for (size_t i = 0; i < groups_.size(); ++i) {
    auto& options = static_cast<torch::optim::AdamWOptions&>(torch_groups[i].options());
    options.lr((groups_[i].is_last_layer ? last_layer_lr : lr) * groups_[i].lr_multiplier);
    options.weight_decay(weight_decay * groups_[i].wd_multiplier);
  }
}

double SslOptimizer::group_lr(size_t i) const {
  return static_cast<const torch::optim::AdamWOptions&>(optimizer_->param_groups().at(i).options()).lr();
}

double SslOptimizer::group_weight_decay(size_t i) const {
  return static_cast<const torch::optim::AdamWOptions&>(optimizer_->param_groups().at(i).options()).weight_decay();
}

}  // namespace radflow::ml::ssl
