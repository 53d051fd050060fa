#include "plugins/segment/segmentation_trainer.h"

#include <cmath>
#include <map>

namespace radflow::segment {

namespace {

std::vector<torch::Tensor> batch_of(const SegmentationSplit& split, const torch::Tensor& index) {
  std::vector<torch::Tensor> layers;
  for (const auto& layer : split.layers) layers.push_back(layer.index_select(0, index));
  return layers;
}

// Weights and BatchNorm statistics, so the best epoch can be restored.
std::map<std::string, torch::Tensor> snapshot(SegmentationHead& head) {
  std::map<std::string, torch::Tensor> state;
  for (const auto& p : head->named_parameters()) state[p.key()] = p.value().detach().clone();
  for (const auto& b : head->named_buffers()) state[b.key()] = b.value().detach().clone();
  return state;
}

void restore(SegmentationHead& head, const std::map<std::string, torch::Tensor>& state) {
  torch::NoGradGuard no_grad;
  for (auto& p : head->named_parameters()) p.value().copy_(state.at(p.key()));
  for (auto& b : head->named_buffers()) b.value().copy_(state.at(b.key()));
}

}  // namespace

torch::Tensor segmentation_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  const auto t = targets.to(torch::kFloat32);
  const auto bce = torch::binary_cross_entropy_with_logits(logits, t);
  const auto p = torch::sigmoid(logits);
  // Smoothing of 1 makes an empty prediction of an empty mask a perfect score.
  const auto intersection = (p * t).sum({2, 3});
  const auto total = p.sum({2, 3}) + t.sum({2, 3});
  const auto soft_dice = (2 * intersection + 1) / (total + 1);
  return bce + (1 - soft_dice).mean();
}

double mean_image_dice(const torch::Tensor& pred, const torch::Tensor& truth) {
  if (pred.numel() == 0) return NAN;
  const auto p = pred.to(torch::kFloat64);
  const auto t = truth.to(torch::kFloat64);
  const auto intersection = (p * t).sum({2, 3});
  const auto total = p.sum({2, 3}) + t.sum({2, 3});
  const auto dice = torch::where(total > 0, 2 * intersection / total.clamp_min(1), torch::ones_like(total));
  return dice.mean().item<double>();
}

torch::Tensor predict_masks(SegmentationHead& head, const SegmentationSplit& split,
                            int64_t batch_size) {
  torch::NoGradGuard no_grad;
  head->eval();
  std::vector<torch::Tensor> out;
  for (int64_t start = 0; start < split.size(); start += batch_size) {
    const auto index = torch::arange(start, std::min(split.size(), start + batch_size), torch::kInt64);
    out.push_back((head->forward(batch_of(split, index)) > 0).to(torch::kUInt8));
  }
  if (out.empty()) return split.masks.clone();  // shape [0, C, H, W]
  return torch::cat(out, 0);
}

TrainResult train_head(SegmentationHead& head, const SegmentationSplit& train,
                       const SegmentationSplit& val, const TrainOptions& options,
                       const EpochCallback& on_epoch) {
  auto generator = at::detail::createCPUGenerator(options.seed);
  torch::optim::AdamW optimizer(head->parameters(),
                                torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));
  TrainResult result;
  double best_dice = -1.0;
  std::map<std::string, torch::Tensor> best_state;
  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    head->train();
    const auto order = torch::randperm(train.size(), generator, torch::kInt64);
    double loss_sum = 0.0;
    int64_t batches = 0;
    for (int64_t start = 0; start < train.size(); start += options.batch_size) {
      const auto index = order.slice(0, start, std::min(train.size(), start + options.batch_size));
      optimizer.zero_grad();
      auto loss = segmentation_loss(head->forward(batch_of(train, index)),
                                    train.masks.index_select(0, index));
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    EpochStats stats;
    stats.epoch = epoch;
    stats.train_loss = loss_sum / static_cast<double>(std::max<int64_t>(1, batches));
    if (val.size() > 0) {
      stats.val_dice = mean_image_dice(predict_masks(head, val, options.batch_size), val.masks);
      // Ties keep the earlier epoch; a NaN Dice never wins.
      if (stats.val_dice > best_dice) {
        best_dice = stats.val_dice;
        best_state = snapshot(head);
        result.best_epoch = epoch;
      }
    } else {
      result.best_epoch = epoch;
    }
    result.epochs.push_back(stats);
    if (on_epoch && !on_epoch(stats)) {
      result.stopped = true;
      break;
    }
  }
  if (!best_state.empty()) restore(head, best_state);
  return result;
}

}  // namespace radflow::segment
