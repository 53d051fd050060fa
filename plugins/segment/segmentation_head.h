// SegmentationHead: the trainable decoder of the segment plugin, on the frozen
// encoder's patch tokens of several blocks (raddino-method.md §4.2). Two kinds:
//   linear  DINOv2's "+ms" linear protocol: the blocks' token maps concatenated along
//           channels, BatchNorm, a 1x1 conv to one logit per structure.
//   fpn     an FPN-lite: each block gets BatchNorm + a 1x1 lateral conv; the deepest
//           block sits at the token grid and the shallower ones at twice the grid
//           (at most the mask size), merged top-down by upsample-and-add; a 3x3 conv
//           + ReLU smooths the finest level before the 1x1 classifier. ViT blocks all
//           share one resolution, so the pyramid comes from upsampling (as ViTDet's
//           simple pyramid does) rather than strides; finer levels than 2x would make
//           the 3x3 conv the bulk of the CPU time.
// Either way the logits are upsampled bilinearly to the mask size.
// A torch module: not thread-safe; owns its parameters.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace radflow::segment {

enum class HeadKind { kLinear, kFpn };

struct HeadOptions {
  HeadKind kind = HeadKind::kLinear;
  int64_t n_layers = 1;
  int64_t dim = 0;           // token dimension D of every block
  int64_t n_classes = 1;     // one sigmoid logit per structure
  int64_t fpn_channels = 32;
  int64_t grid_h = 0, grid_w = 0;
  int64_t mask_h = 0, mask_w = 0;
};

class SegmentationHeadImpl : public torch::nn::Module {
 public:
  explicit SegmentationHeadImpl(const HeadOptions& options);

  // layers: n_layers maps [B, dim, grid_h, grid_w], shallow to deep.
  // Returns logits [B, n_classes, mask_h, mask_w].
  torch::Tensor forward(const std::vector<torch::Tensor>& layers);

 private:
  torch::Tensor upsample(const torch::Tensor& x, int64_t h, int64_t w) const;

  HeadOptions options_;
  // linear
  torch::nn::BatchNorm2d norm_{nullptr};
  // fpn: lateral[i] belongs to layers[i]
  std::vector<torch::nn::BatchNorm2d> lateral_norms_;
  std::vector<torch::nn::Conv2d> laterals_;
  torch::nn::Conv2d smooth_{nullptr};
  torch::nn::Conv2d classifier_{nullptr};
};
TORCH_MODULE(SegmentationHead);

}  // namespace radflow::segment
