#pragma once
// SOLOv2's kernel and category branches (WXinlong/SOLO solov2_head.py, mmdet SOLOV2Head): on each
// of the five FPN levels, features resized to an S x S grid predict per cell a class score
// (category branch) and the weights of a 1x1 conv (kernel branch) that, applied to the unified
// mask features (solov2_mask_feature.h), draws the instance whose centre falls in that cell.
// Child names follow the reference checkpoint: kernel_convs.<i>.{conv,gn}, cate_convs.<i>.{conv,gn},
// solo_kernel, solo_cate.
#include <array>
#include <vector>

#include <torch/torch.h>

#include "common/config.h"
#include "modeling/dense_heads/solov2_mask_feature.h"
#include "modeling/layers/conv_norm.h"

namespace studio {

struct SOLOv2LossOptions {
  double dice_weight = 3.0;
  double focal_alpha = 0.25;
  double focal_gamma = 2.0;
  double focal_weight = 1.0;
};

struct SOLOv2HeadOptions {
  int num_classes = 80;             // filled by the model factory from model.num_classes
  int in_channels = 256;            // filled from the neck's out_channels
  int stacked_convs = 4;
  int feat_channels = 512;
  int kernel_out_channels = 256;    // E: channels of the unified mask features
  std::vector<int> strides{8, 8, 16, 32, 32};
  std::vector<int> num_grids{40, 36, 24, 16, 12};
  std::vector<std::array<double, 2>> scale_ranges{{1, 96}, {48, 192}, {96, 384}, {192, 768}, {384, 2048}};
  double sigma = 0.2;               // centre-region scale for target assignment
  int norm_groups = 32;
  SOLOv2MaskFeatureOptions mask_feature;  // head.mask_feature (in/out channels filled by the factory)
  SOLOv2LossOptions loss;                 // head.loss
};

// Reads model.head (including its mask_feature and loss mappings); num_classes, in_channels and
// mask_feature.in_channels / out_channels are left for the caller (they come from other sections;
// mask_feature.out_channels = kernel_out_channels is set here).
[[nodiscard]] SOLOv2HeadOptions solov2_head_options_from_config(const ConfigNode& head);

struct SOLOv2HeadOutput {
  std::vector<torch::Tensor> kernel_preds;  // per level [B, E, S, S]
  std::vector<torch::Tensor> cate_preds;    // per level [B, C, S, S] logits
};

class SOLOv2HeadImpl : public torch::nn::Module {
 public:
  explicit SOLOv2HeadImpl(const SOLOv2HeadOptions& options);

  // feats: the FPN levels P2..P6 [B, in_channels, H_l, W_l]; the head takes the first
  // num_grids.size() of them (fewer levels for small images, whose largest objects never reach
  // the coarse ones).
  SOLOv2HeadOutput forward(const std::vector<torch::Tensor>& feats);

  [[nodiscard]] const SOLOv2HeadOptions& options() const { return options_; }

  torch::nn::ModuleList kernel_convs{nullptr};
  torch::nn::ModuleList cate_convs{nullptr};
  torch::nn::Conv2d solo_kernel{nullptr};
  torch::nn::Conv2d solo_cate{nullptr};

 private:
  SOLOv2HeadOptions options_;
};
TORCH_MODULE(SOLOv2Head);

// The reference's split_feats over the first `levels` FPN levels (all of them when levels is 0):
// level 0 halved (bilinear), the others unchanged, except that when the head takes every FPN
// level the last (P6, pooled from P5) is resized to the size of the one before it. So P2..P6
// (strides 4..64) become strides 8, 8, 16, 32, 32; a 3-level head on P2..P4 sees 8, 8, 16.
[[nodiscard]] std::vector<torch::Tensor> solov2_resize_feats(const std::vector<torch::Tensor>& feats,
                                                             size_t levels = 0);

}  // namespace studio
