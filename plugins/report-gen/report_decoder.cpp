#include "plugins/report-gen/report_decoder.h"

#include <algorithm>
#include <functional>
#include <cmath>
#include <limits>

#include "plugins/report-gen/report_vocabulary.h"

namespace radflow::report_gen {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// A finished hypothesis: its words and length-normalised score.
struct Hypothesis {
  double score = kNegInf;
  std::vector<int64_t> ids;
};

}  // namespace

ReportDecoderImpl::ReportDecoderImpl(const ReportDecoderOptions& options) : options_(options) {
  const int64_t d = options.d_model;
  input_norm_ = register_module("input_norm", torch::nn::LayerNorm(
                                                  torch::nn::LayerNormOptions({options.input_dim})));
  projector_ = register_module("projector", torch::nn::Linear(options.input_dim, d));
  patch_position_ = register_parameter("patch_position",
                                       torch::randn({options.patch_count, 1, d}) * 0.02);
  word_ = register_module("word", torch::nn::Embedding(options.vocab_size, d));
  position_ = register_module("position", torch::nn::Embedding(options.max_length, d));
  torch::nn::init::normal_(word_->weight, 0.0, 0.02);
  torch::nn::init::normal_(position_->weight, 0.0, 0.02);
  auto layer = torch::nn::TransformerDecoderLayer(
      torch::nn::TransformerDecoderLayerOptions(d, options.heads)
          .dim_feedforward(options.feedforward)
          .dropout(options.dropout)
          .activation(torch::kGELU));
  decoder_ = register_module(
      "decoder", torch::nn::TransformerDecoder(torch::nn::TransformerDecoderOptions(layer, options.layers)));
  output_ = register_module("output", torch::nn::Linear(d, options.vocab_size));
  causal_mask_ = register_buffer(
      "causal_mask",
      torch::full({options.max_length, options.max_length}, kNegInf).triu(1));
}

torch::Tensor ReportDecoderImpl::encode(const torch::Tensor& patches) {
  auto memory = projector_(input_norm_(patches)).transpose(0, 1);  // [P, B, d]
  return memory + patch_position_;
}

torch::Tensor ReportDecoderImpl::decode(const torch::Tensor& memory, const torch::Tensor& ids) {
  const int64_t length = ids.size(1);
  auto positions = torch::arange(length, torch::kInt64);
  auto x = (word_(ids) + position_(positions)).transpose(0, 1);  // [T, B, d]
  auto mask = causal_mask_.index({torch::indexing::Slice(0, length), torch::indexing::Slice(0, length)});
  auto y = decoder_(x, memory, mask);
  return output_(y.transpose(0, 1));
}

torch::Tensor ReportDecoderImpl::next_log_probs(const torch::Tensor& memory, const torch::Tensor& ids) {
  auto logits = decode(memory, ids).select(1, ids.size(1) - 1).clone();
  for (int64_t special : {ReportVocabulary::kPad, ReportVocabulary::kBos, ReportVocabulary::kUnk}) {
    logits.select(1, special).fill_(kNegInf);
  }
  return torch::log_softmax(logits, 1);
}

std::vector<std::vector<int64_t>> ReportDecoderImpl::generate(const torch::Tensor& patches,
                                                              int64_t beam_size, double length_penalty) {
  torch::NoGradGuard no_grad;
  const bool was_training = is_training();
  eval();
  auto memory = encode(patches);
  auto out = beam_size <= 1 ? greedy(memory) : beam(memory, beam_size, length_penalty);
  train(was_training);
  return out;
}

std::vector<std::vector<int64_t>> ReportDecoderImpl::greedy(const torch::Tensor& memory) {
  const int64_t batch = memory.size(1);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(batch));
  std::vector<bool> done(static_cast<size_t>(batch), false);
  auto ids = torch::full({batch, 1}, ReportVocabulary::kBos, torch::kInt64);
  for (int64_t step = 1; step < options_.max_length; ++step) {
    auto next = next_log_probs(memory, ids).argmax(1);
    auto next_acc = next.accessor<int64_t, 1>();
    bool all_done = true;
    for (int64_t b = 0; b < batch; ++b) {
      if (done[b]) continue;
      if (next_acc[b] == ReportVocabulary::kEos) {
        done[b] = true;
      } else {
        out[b].push_back(next_acc[b]);
        all_done = false;
      }
    }
    if (all_done) break;
    ids = torch::cat({ids, next.unsqueeze(1)}, 1);
  }
  return out;
}

std::vector<std::vector<int64_t>> ReportDecoderImpl::beam(const torch::Tensor& memory, int64_t beam_size,
                                                          double length_penalty) {
  const int64_t batch = memory.size(1), k = beam_size, vocab = options_.vocab_size;
  auto beam_memory = memory.repeat_interleave(k, 1);  // [P, B*K, d], sample-major
  auto ids = torch::full({batch * k, 1}, ReportVocabulary::kBos, torch::kInt64);
  // Only beam 0 is live at the start, so the K beams do not all repeat one prefix.
  auto scores = torch::full({batch, k}, kNegInf, torch::kFloat64);
  scores.select(1, 0).fill_(0.0);
  std::vector<std::vector<Hypothesis>> finished(static_cast<size_t>(batch));
  std::vector<bool> done(static_cast<size_t>(batch), false);
  auto normalised = [&](double score, int64_t length) {
    return score / std::pow(static_cast<double>(std::max<int64_t>(1, length)), length_penalty);
  };
  for (int64_t step = 1; step < options_.max_length; ++step) {
    auto log_probs = next_log_probs(beam_memory, ids).to(torch::kFloat64);  // [B*K, V]
    auto total = (scores.view({batch * k, 1}) + log_probs).view({batch, k * vocab});
    auto [top_scores, top_index] = total.topk(2 * k, 1);
    auto top_scores_acc = top_scores.accessor<double, 2>();
    auto top_index_acc = top_index.accessor<int64_t, 2>();
    auto ids_acc = ids.accessor<int64_t, 2>();
    std::vector<int64_t> source(static_cast<size_t>(batch * k), 0), word(static_cast<size_t>(batch * k),
                                                                         ReportVocabulary::kEos);
    auto next_scores = torch::full({batch, k}, kNegInf, torch::kFloat64);
    auto next_scores_acc = next_scores.accessor<double, 2>();
    for (int64_t b = 0; b < batch; ++b) {
      int64_t kept = 0;
      for (int64_t c = 0; c < 2 * k && kept < k && !done[b]; ++c) {
        const double score = top_scores_acc[b][c];
        if (!std::isfinite(score)) break;
        const int64_t beam_index = top_index_acc[b][c] / vocab, token = top_index_acc[b][c] % vocab;
        const int64_t row = b * k + beam_index;
        if (token == ReportVocabulary::kEos) {
          Hypothesis h;
          h.score = normalised(score, step);
          for (int64_t t = 1; t < ids.size(1); ++t) h.ids.push_back(ids_acc[row][t]);
          finished[b].push_back(std::move(h));
          continue;
        }
        source[b * k + kept] = row;
        word[b * k + kept] = token;
        next_scores_acc[b][kept] = score;
        ++kept;
      }
      for (int64_t r = kept; r < k; ++r) source[b * k + r] = b * k;  // dead rows: any valid source
      // Done once K hypotheses have finished and no live beam scores better than the
      // K-th best of them (stopping at the first K finished would favour short reports).
      if (static_cast<int64_t>(finished[b].size()) >= k) {
        std::vector<double> best_finished;
        for (const Hypothesis& h : finished[b]) best_finished.push_back(h.score);
        std::nth_element(best_finished.begin(), best_finished.begin() + (k - 1), best_finished.end(),
                         std::greater<double>());
        const double best_live = kept > 0 ? normalised(next_scores_acc[b][0], step + 1) : kNegInf;
        if (best_live <= best_finished[static_cast<size_t>(k - 1)]) done[b] = true;
      }
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    ids = torch::cat({ids.index_select(0, torch::tensor(source, torch::kInt64)),
                      torch::tensor(word, torch::kInt64).unsqueeze(1)},
                     1);
    scores = next_scores;
  }
  // Samples that hit max_length without K finished beams also consider their live beams.
  auto scores_acc = scores.accessor<double, 2>();
  auto ids_acc = ids.accessor<int64_t, 2>();
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    if (!done[b]) {
      for (int64_t r = 0; r < k; ++r) {
        if (!std::isfinite(scores_acc[b][r])) continue;
        Hypothesis h;
        h.score = normalised(scores_acc[b][r], ids.size(1) - 1);
        for (int64_t t = 1; t < ids.size(1); ++t) h.ids.push_back(ids_acc[b * k + r][t]);
        finished[b].push_back(std::move(h));
      }
    }
    const Hypothesis* best = nullptr;
    for (const Hypothesis& h : finished[b]) {
      if (best == nullptr || h.score > best->score) best = &h;
    }
    if (best != nullptr) out[b] = best->ids;
  }
  return out;
}

}  // namespace radflow::report_gen
