// train_report_decoder(): teacher-forced next-word cross-entropy training of a
// ReportDecoder on frozen patch tokens, with AdamW and shuffled mini-batches. When
// a validation set is given, the parameters of the epoch with the lowest validation
// loss are restored at the end (cheap: no decoding, one teacher-forced pass).
// Runs on the calling thread; uses torch's global RNG (seeded here) for dropout.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "plugins/report-gen/report_decoder.h"

namespace radflow::report_gen {

struct ReportTrainOptions {
  int epochs = 20;
  int64_t batch_size = 32;
  double learning_rate = 1e-3;
  double weight_decay = 0.01;
  uint64_t seed = 0;
};

struct ReportTrainResult {
  std::vector<double> train_loss;  // mean per-token loss of each epoch
  std::vector<double> val_loss;    // empty without a validation set
  int best_epoch = 0;              // 0-based; the last epoch without a validation set
  bool stopped = false;            // the epoch callback asked to stop
};

// Right-pads id sequences with <pad> into [N, T_max].
torch::Tensor pad_ids(const std::vector<std::vector<int64_t>>& ids);

// Mean next-word cross-entropy per real (non-<pad>) target token, in eval mode.
double teacher_forced_loss(ReportDecoder& model, const torch::Tensor& patches,
                           const std::vector<std::vector<int64_t>>& ids, int64_t batch_size);

// `on_epoch(epoch, train_loss, val_loss)` runs after each epoch (val_loss NaN without
// a validation set) and returns false to stop early (e.g. cancellation).
// Preconditions (checked): train_ids.size() == train_patches.size(0) > 0, the same
// for val (which may be empty).
ReportTrainResult train_report_decoder(
    ReportDecoder& model, const torch::Tensor& train_patches,
    const std::vector<std::vector<int64_t>>& train_ids, const torch::Tensor& val_patches,
    const std::vector<std::vector<int64_t>>& val_ids, const ReportTrainOptions& options,
    const std::function<bool(int, double, double)>& on_epoch = {});

}  // namespace radflow::report_gen
