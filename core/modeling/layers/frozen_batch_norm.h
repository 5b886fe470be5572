#pragma once
// BatchNorm with fixed statistics and affine parameters, torchvision's FrozenBatchNorm2d: the
// detection recipes train with 2 images a device, too few for batch statistics, so the ImageNet
// statistics stay as they were. All four tensors are buffers (never trained, but saved), named
// as torchvision's BatchNorm2d keys (weight, bias, running_mean, running_var) so ImageNet
// weights load into them; there is no num_batches_tracked.
#include <torch/torch.h>

namespace studio {

class FrozenBatchNorm2dImpl : public torch::nn::Module {
 public:
  explicit FrozenBatchNorm2dImpl(int64_t num_features, double eps = 1e-5);

  // [B, C, H, W] -> [B, C, H, W]: y = x * scale + shift with
  // scale = weight / sqrt(running_var + eps), shift = bias - running_mean * scale.
  torch::Tensor forward(const torch::Tensor& x);

  // The per-channel {scale, shift} of forward, each [C].
  [[nodiscard]] std::pair<torch::Tensor, torch::Tensor> scale_shift() const;

  [[nodiscard]] int64_t num_features() const { return num_features_; }
  [[nodiscard]] double eps() const { return eps_; }
  void set_eps(double eps) { eps_ = eps; }

  torch::Tensor weight, bias, running_mean, running_var;

 private:
  int64_t num_features_;
  double eps_;
};
TORCH_MODULE(FrozenBatchNorm2d);

// norm(conv(x)). When `norm` holds a FrozenBatchNorm2d (and the conv pads with zeros) it is one
// convolution with the norm folded in: weight * scale per output channel, bias shift (+ the conv's
// own bias * scale). The same function of x and of the conv's weights, gradients included, but
// without the two passes over the activations (multiply, add) that the separate norm costs forward
// and the multiply it costs backward: about a fifth of a ResNet-50 step on the CPU. Rounding
// differs from the two-step form at float32 precision.
torch::Tensor conv_then_norm(torch::nn::Conv2dImpl& conv, torch::nn::AnyModule& norm, const torch::Tensor& x);

// Sets the epsilon of every FrozenBatchNorm2d in `module` (torchvision's overwrite_eps: its
// published detection weights were trained with eps 0). Returns how many layers it changed.
int set_frozen_bn_eps(torch::nn::Module& module, double eps);

}  // namespace studio
