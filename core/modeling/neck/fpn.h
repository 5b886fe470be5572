#pragma once
// Feature Pyramid Network (Lin et al. 2017) in mmdetection's layout, so mmdet checkpoints' neck
// keys match: lateral_convs.i.conv (1x1, in_channels[i] -> out) and fpn_convs.i.conv (3x3,
// out -> out), both with bias; top-down pathway with nearest upsampling to the exact size of
// the level below; extra levels by max_pool2d(kernel 1, stride 2) of the last output
// (mmdet add_extra_convs=False). With C2..C5 and num_outs 5: P2..P6, as SOLOv2 uses.
// Layout "torchvision" computes the same with torchvision's names and init, so its detection
// checkpoints load unchanged: inner_blocks.i.0 (1x1) and layer_blocks.i.0 (3x3), each conv the
// child "0" of a Sequential (ops/feature_pyramid_network.py), kaiming_uniform_(a=1) weights, and
// the extra level is its LastLevelMaxPool (the same max_pool2d(1, stride 2) of the last output).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/config.h"

namespace studio {

struct FPNOptions {
  std::vector<int> in_channels;  // channels of the inputs (from Backbone::out_channels())
  int out_channels = 256;
  int num_outs = 5;  // >= in_channels.size(); the extra levels are max-pooled
  std::string layout = "mmdet";  // mmdet (lateral_convs / fpn_convs) | torchvision (inner_blocks / layer_blocks)
};

// The recipe's `model.neck` mapping: type (only "fpn"), out_channels, num_outs. in_channels are
// not read: the caller sets them from the backbone.
[[nodiscard]] FPNOptions fpn_options_from_config(const ConfigNode& node);

// mmcv's ConvModule without norm: one child `conv`, so keys read "lateral_convs.0.conv.weight".
class FPNConvImpl : public torch::nn::Module {
 public:
  FPNConvImpl(int in_channels, int out_channels, int kernel_size);
  torch::Tensor forward(const torch::Tensor& x) { return conv->forward(x); }
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(FPNConv);

class FPNImpl : public torch::nn::Module {
 public:
  explicit FPNImpl(const FPNOptions& options);

  // {C2 [B, in0, H/4, W/4], ..., C5 [B, in3, H/32, W/32]} ->
  // {P2 [B, out, H/4, W/4], ..., P5 [B, out, H/32, W/32], P6 [B, out, H/64, W/64]}.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs);

  [[nodiscard]] const FPNOptions& options() const { return options_; }

 private:
  FPNOptions options_;
  std::vector<torch::nn::Conv2d> lateral_, output_;  // 1x1 lateral and 3x3 output convs per input level
};
TORCH_MODULE(FPN);

}  // namespace studio
