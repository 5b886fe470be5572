#pragma once
// ResNet-18/34/50/101 (He et al. 2016) as a detection backbone, torchvision's layout and names:
// conv1, bn1, layer1..layer4 (blocks "0", "1", ...: conv1/bn1/conv2/bn2[/conv3/bn3],
// downsample.0 (1x1 conv) / downsample.1 (norm)), no fc. Bottleneck puts the stride on the 3x3
// conv (torchvision's "v1.5"), so torchvision's ImageNet files load unchanged.
#include <torch/torch.h>

#include "modeling/backbone/backbone.h"

namespace studio {

class ResNetImpl : public Backbone {
 public:
  explicit ResNetImpl(const BackboneOptions& options);

  // [B, 3, H, W] -> {C2, C3, C4, C5} (strides 4, 8, 16, 32).
  std::vector<torch::Tensor> forward(const torch::Tensor& x) override;
  [[nodiscard]] std::vector<int> out_channels() const override;

  // Keeps the frozen stages (and their norm statistics) in eval mode while the rest trains.
  void train(bool on = true) override;

  // Blocks per stage: resnet18 {2,2,2,2}, 34 {3,4,6,3}, 50 {3,4,6,3}, 101 {3,4,23,3}.
  [[nodiscard]] static std::vector<int> stage_blocks(const std::string& type);
  [[nodiscard]] static bool uses_bottleneck(const std::string& type);

 private:
  void freeze();

  BackboneOptions options_;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::AnyModule bn1;
  std::vector<torch::nn::Sequential> layers_;  // layer1..layer4
};
TORCH_MODULE(ResNet);

}  // namespace studio
