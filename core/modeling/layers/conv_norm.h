#pragma once
// Conv + GroupNorm + ReLU, mmcv's ConvModule with norm_cfg=GN (the block SOLOv2's heads stack).
// Children are named as in mmdet/SOLO checkpoints: `conv` (no bias: the norm follows) and `gn`.
#include <torch/torch.h>

namespace studio {

// GroupNorm that also takes the bfloat16 / float16 activations autocast gives (LibTorch 1.13's CPU
// kernel cannot mix them with its float weight and bias): it normalises in the parameters' type.
// A GroupNormImpl, so its parameters are named and found as torch::nn::GroupNorm's.
class AutocastGroupNormImpl : public torch::nn::GroupNormImpl {
 public:
  using torch::nn::GroupNormImpl::GroupNormImpl;
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::nn::GroupNormImpl::forward(x.scalar_type() == weight.scalar_type() ? x : x.to(weight.scalar_type()));
  }
};
TORCH_MODULE(AutocastGroupNorm);

struct ConvNormOptions {
  int in_channels = 0;
  int out_channels = 0;
  int kernel_size = 3;  // 3 (padding 1) or 1 (padding 0): "same" output size, stride 1
  int num_groups = 32;  // GroupNorm groups; must divide out_channels
  bool relu = true;
};

class ConvNormImpl : public torch::nn::Module {
 public:
  explicit ConvNormImpl(const ConvNormOptions& options);

  // [B, in, H, W] -> [B, out, H, W]
  torch::Tensor forward(const torch::Tensor& x);

  // Conv weight ~ N(0, std), GN weight 1, bias 0 (mmcv normal_init on the conv).
  void init_normal(double std);

  torch::nn::Conv2d conv{nullptr};
  AutocastGroupNorm gn{nullptr};

 private:
  ConvNormOptions options_;
};
TORCH_MODULE(ConvNorm);

// torchvision's Conv2dNormActivation without a norm: a Sequential of the conv ("0", with bias) and
// ReLU ("1"), so its keys read "<name>.0.weight". LibTorch cannot nest a Sequential in a
// Sequential, hence a module of its own with a plain forward.
class Conv2dReLUImpl : public torch::nn::Module {
 public:
  explicit Conv2dReLUImpl(const torch::nn::Conv2dOptions& options)
      : conv(register_module("0", torch::nn::Conv2d(options))) {}
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(conv->forward(x)); }
  torch::nn::Conv2d conv;
};
TORCH_MODULE(Conv2dReLU);

}  // namespace studio
