// ReportDecoder: the report-generation head on frozen patch tokens
// (raddino-method.md §4.3, scaled down from LLaVA/MAIRA-1 to something a CPU trains in
// a minute): LayerNorm + linear projector of the patch tokens [B, P, D_in] to d_model,
// plus a learned per-patch position embedding, form the cross-attention memory of a
// small post-norm transformer decoder (torch::nn::TransformerDecoder) over learned
// word + position embeddings; a linear layer gives next-word logits.
//
// Decoding: greedy (beam_size 1) or batched beam search, scoring a finished beam by
// its summed log-probability divided by length^length_penalty. <pad>, <bos> and
// <unk> are never generated. A torch module: not thread-safe; one user at a time.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace radflow::report_gen {

struct ReportDecoderOptions {
  int64_t input_dim = 0;     // D of the patch tokens
  int64_t patch_count = 0;   // P
  int64_t vocab_size = 0;
  int64_t max_length = 80;   // longest id sequence, <bos> and <eos> included
  int64_t d_model = 128;
  int64_t heads = 4;
  int64_t layers = 2;
  int64_t feedforward = 256;
  double dropout = 0.1;
};

class ReportDecoderImpl : public torch::nn::Module {
 public:
  explicit ReportDecoderImpl(const ReportDecoderOptions& options);

  // patches [B, P, D_in] -> memory [P, B, d_model].
  torch::Tensor encode(const torch::Tensor& patches);
  // ids [B, T] (starting with <bos>) -> logits [B, T, V]; position t predicts t + 1.
  // No padding mask is needed: <pad> only ever follows the words, and the causal
  // mask keeps every real position from seeing what comes after it.
  torch::Tensor decode(const torch::Tensor& memory, const torch::Tensor& ids);
  torch::Tensor forward(const torch::Tensor& patches, const torch::Tensor& ids) {
    return decode(encode(patches), ids);
  }

  // Generated ids per sample (no <bos>, no <eos>), at most max_length - 1 steps.
  // beam_size 1 is greedy decoding. Runs under NoGradGuard in eval mode.
  std::vector<std::vector<int64_t>> generate(const torch::Tensor& patches, int64_t beam_size,
                                             double length_penalty = 1.0);

  const ReportDecoderOptions& options() const { return options_; }

 private:
  std::vector<std::vector<int64_t>> greedy(const torch::Tensor& memory);
  std::vector<std::vector<int64_t>> beam(const torch::Tensor& memory, int64_t beam_size,
                                         double length_penalty);
  // Log-probabilities of the next word after `ids` [B, T] -> [B, V], specials masked.
  torch::Tensor next_log_probs(const torch::Tensor& memory, const torch::Tensor& ids);

  ReportDecoderOptions options_;
  torch::nn::LayerNorm input_norm_{nullptr};
  torch::nn::Linear projector_{nullptr};
  torch::Tensor patch_position_;
  torch::nn::Embedding word_{nullptr};
  torch::nn::Embedding position_{nullptr};
  torch::nn::TransformerDecoder decoder_{nullptr};
  torch::nn::Linear output_{nullptr};
  torch::Tensor causal_mask_;  // [max_length, max_length], -inf above the diagonal
};
TORCH_MODULE(ReportDecoder);

}  // namespace radflow::report_gen
