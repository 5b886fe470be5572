#pragma once
// What a detector sees of a backbone: a module that turns a batch of images into the feature maps
// C2..C5 (strides 4, 8, 16, 32), with the channels of each. ResNet-18/34/50/101 and MobileNetV2
// implement it, with torchvision's parameter names so ImageNet .pth files load into them
// (weights/weight_import.h).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "common/config.h"

namespace studio {

class Backbone : public torch::nn::Module {
 public:
  ~Backbone() override = default;

  // [B, 3, H, W] -> {C2 [B, c2, H/4, W/4], C3 [.., H/8, ..], C4 [.., H/16, ..], C5 [.., H/32, ..]}
  // (sizes round up for odd inputs, as strided convs do).
  virtual std::vector<torch::Tensor> forward(const torch::Tensor& x) = 0;

  // Channels of C2..C5 (resnet18/34: 64,128,256,512; resnet50/101: 256,512,1024,2048;
  // mobilenet_v2: 24,32,96,1280).
  [[nodiscard]] virtual std::vector<int> out_channels() const = 0;
  [[nodiscard]] std::vector<int> strides() const { return {4, 8, 16, 32}; }
};

struct BackboneOptions {
  std::string type = "resnet50";  // resnet18 | resnet34 | resnet50 | resnet101 | mobilenet_v2
  std::string norm =
      "frozen_bn";  // frozen_bn (fixed ImageNet statistics) | bn (trainable) | gn (GroupNorm 32)
  // -1: nothing frozen; 0: the stem; k >= 1: the stem and stages 1..k (ResNet layer1..layerk;
  // MobileNetV2 stage 1 = features.0-3, 2 = 4-6, 3 = 7-13, 4 = 14-18). Frozen parts have
  // requires_grad false and stay in eval mode when the model trains.
  int frozen_stages = 1;
  // Epsilon of the frozen_bn layers: 1e-5 (torchvision's FrozenBatchNorm2d), 0 for torchvision's
  // published detection weights (trained with it; its model builders call overwrite_eps(0)).
  double norm_eps = 1e-5;
  // A .pth state dict (torchvision's ImageNet file, or what `studio-cli weights import --out`
  // writes) loaded by build_backbone; "" = random init (Kaiming).
  std::string pretrained;
};

// The recipe's `model.backbone` mapping: keys type, norm, norm_eps, frozen_stages, pretrained (resolved
// against the recipe file that set it, via ConfigNode::get_path). Unknown keys are errors.
[[nodiscard]] BackboneOptions backbone_options_from_config(const ConfigNode& node);

// The known backbone types, for messages and the CLI.
[[nodiscard]] std::vector<std::string> backbone_types();

// Builds the backbone; when options.pretrained is set, loads it (weights/weight_import.h) and
// throws studio::Error naming the file and the missing or mis-shaped keys if it doesn't fit.
[[nodiscard]] std::shared_ptr<Backbone> build_backbone(const BackboneOptions& options);

// A norm layer by name for `channels` (frozen_bn -> FrozenBatchNorm2d, bn -> BatchNorm2d,
// gn -> GroupNorm(32)); torchvision's BN eps 1e-5. The backbones register its ptr() under the
// checkpoint name ("bn1") and call forward through the AnyModule.
[[nodiscard]] torch::nn::AnyModule make_norm_layer(const std::string& norm, int64_t channels);

}  // namespace studio
