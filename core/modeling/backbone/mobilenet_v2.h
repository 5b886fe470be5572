#pragma once
// MobileNetV2 (Sandler et al. 2018) as a detection backbone, torchvision's layout and names:
// features.0 (conv 3x3 s2 + norm + ReLU6: features.0.0 / features.0.1), features.1..17 inverted
// residual blocks (features.N.conv.M...), features.18 (1x1 conv to 1280 + norm + ReLU6); no
// classifier. C2..C5 are taken after features 3, 6, 13 and 18: 24, 32, 96 and 1280 channels.
#include <torch/torch.h>

#include "modeling/backbone/backbone.h"

namespace studio {

class MobileNetV2Impl : public Backbone {
 public:
  explicit MobileNetV2Impl(const BackboneOptions& options);

  // [B, 3, H, W] -> {C2, C3, C4, C5} (strides 4, 8, 16, 32).
  std::vector<torch::Tensor> forward(const torch::Tensor& x) override;
  [[nodiscard]] std::vector<int> out_channels() const override { return {24, 32, 96, 1280}; }

  // Keeps the frozen stages in eval mode while the rest trains.
  void train(bool on = true) override;

 private:
  void freeze();

  BackboneOptions options_;
  torch::nn::Sequential features{nullptr};
};
TORCH_MODULE(MobileNetV2);

}  // namespace studio
