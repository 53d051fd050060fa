#include "plugins/report-gen/report_trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "common/check.h"
#include "plugins/report-gen/report_vocabulary.h"

namespace radflow::report_gen {
namespace {

// Summed loss and target-token count of one batch.
std::pair<torch::Tensor, int64_t> batch_loss(ReportDecoder& model, const torch::Tensor& patches,
                                             const torch::Tensor& ids) {
  using torch::indexing::Slice;
  auto inputs = ids.index({Slice(), Slice(0, -1)});
  auto targets = ids.index({Slice(), Slice(1, torch::indexing::None)});
  auto logits = model->forward(patches, inputs);
  auto loss = torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(2)}), targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(ReportVocabulary::kPad).reduction(torch::kSum));
  return {loss, targets.ne(ReportVocabulary::kPad).sum().item<int64_t>()};
}

std::vector<std::vector<int64_t>> gather(const std::vector<std::vector<int64_t>>& ids,
                                         const std::vector<int64_t>& rows) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t r : rows) out.push_back(ids[static_cast<size_t>(r)]);
  return out;
}

}  // namespace

torch::Tensor pad_ids(const std::vector<std::vector<int64_t>>& ids) {
  size_t longest = 0;
  for (const auto& seq : ids) longest = std::max(longest, seq.size());
  auto out = torch::full({static_cast<int64_t>(ids.size()), static_cast<int64_t>(longest)},
                         ReportVocabulary::kPad, torch::kInt64);
  auto acc = out.accessor<int64_t, 2>();
  for (size_t i = 0; i < ids.size(); ++i) {
    for (size_t t = 0; t < ids[i].size(); ++t) acc[static_cast<int64_t>(i)][static_cast<int64_t>(t)] = ids[i][t];
  }
  return out;
}

double teacher_forced_loss(ReportDecoder& model, const torch::Tensor& patches,
                           const std::vector<std::vector<int64_t>>& ids, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  double sum = 0.0;
  int64_t count = 0;
  const int64_t n = patches.size(0);
  for (int64_t start = 0; start < n; start += batch_size) {
    std::vector<int64_t> rows(static_cast<size_t>(std::min(batch_size, n - start)));
    std::iota(rows.begin(), rows.end(), start);
    auto [loss, tokens] = batch_loss(model, patches.narrow(0, start, static_cast<int64_t>(rows.size())),
                                     pad_ids(gather(ids, rows)));
    sum += loss.item<double>();
    count += tokens;
  }
  model->train(was_training);
  return count > 0 ? sum / static_cast<double>(count) : std::numeric_limits<double>::quiet_NaN();
}

ReportTrainResult train_report_decoder(ReportDecoder& model, const torch::Tensor& train_patches,
                                       const std::vector<std::vector<int64_t>>& train_ids,
                                       const torch::Tensor& val_patches,
                                       const std::vector<std::vector<int64_t>>& val_ids,
                                       const ReportTrainOptions& options,
                                       const std::function<bool(int, double, double)>& on_epoch) {
  const int64_t n = train_patches.size(0);
  RF_CHECK(n > 0 && static_cast<size_t>(n) == train_ids.size(), "train_report_decoder: bad train set");
  const bool has_val = !val_ids.empty();
  RF_CHECK(!has_val || static_cast<size_t>(val_patches.size(0)) == val_ids.size(),
           "train_report_decoder: bad val set");
  torch::manual_seed(options.seed);
  std::mt19937_64 shuffle_rng(options.seed);
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(options.learning_rate)
                                                         .weight_decay(options.weight_decay));
  ReportTrainResult result;
  double best_val = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_state;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  model->train();
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    double sum = 0.0;
    int64_t count = 0;
    for (int64_t start = 0; start < n; start += options.batch_size) {
      std::vector<int64_t> rows(order.begin() + start,
                                order.begin() + std::min(n, start + options.batch_size));
      auto patches = train_patches.index_select(0, torch::tensor(rows, torch::kInt64));
      auto [loss, tokens] = batch_loss(model, patches, pad_ids(gather(train_ids, rows)));
      optimizer.zero_grad();
      (loss / static_cast<double>(std::max<int64_t>(1, tokens))).backward();
      torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
      optimizer.step();
      sum += loss.item<double>();
      count += tokens;
    }
    result.train_loss.push_back(count > 0 ? sum / static_cast<double>(count) : 0.0);
    double val = std::numeric_limits<double>::quiet_NaN();
    if (has_val) {
      val = teacher_forced_loss(model, val_patches, val_ids, options.batch_size);
      result.val_loss.push_back(val);
      if (val < best_val) {
        best_val = val;
        result.best_epoch = epoch;
        best_state.clear();
        for (const auto& p : model->parameters()) best_state.push_back(p.detach().clone());
      }
    } else {
      result.best_epoch = epoch;
    }
    if (on_epoch && !on_epoch(epoch, result.train_loss.back(), val)) {
      result.stopped = true;
      break;
    }
  }
  if (!best_state.empty()) {
    torch::NoGradGuard no_grad;
    auto params = model->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_state[i]);
  }
  return result;
}

}  // namespace radflow::report_gen
