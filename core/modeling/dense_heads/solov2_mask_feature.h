#pragma once
// SOLOv2's unified mask-feature branch (WXinlong/SOLO mask_feat_head.py, mmdet's
// SOLOV2MaskFeatHead): FPN levels start_level..end_level (P2..P5) are brought to stride 4 and summed:
// level 0 by one conv; level i by i x (conv3x3 GN ReLU, 2x bilinear upsample), the deepest level
// with the two coordinate channels appended first; then conv1x1 GN ReLU to E channels.
// Child names follow the reference checkpoint: convs_all_levels.<l>.conv<j>.{conv,gn}, conv_pred.0.{conv,gn}.
#include <vector>

#include <torch/torch.h>

#include "common/config.h"
#include "modeling/layers/conv_norm.h"

namespace studio {

struct SOLOv2MaskFeatureOptions {
  int in_channels = 256;   // the neck's out_channels (filled by the model factory)
  int channels = 128;      // inside the branch
  int out_channels = 256;  // E = head.kernel_out_channels
  int start_level = 0;
  int end_level = 3;
  int norm_groups = 32;
};

// Reads model.head.mask_feature (start_level, end_level, channels). in_channels, out_channels and
// norm_groups come from elsewhere (the neck, head.kernel_out_channels, head.norm_groups).
[[nodiscard]] SOLOv2MaskFeatureOptions solov2_mask_feature_options_from_config(const ConfigNode& node);

class SOLOv2MaskFeatureImpl : public torch::nn::Module {
 public:
  explicit SOLOv2MaskFeatureImpl(const SOLOv2MaskFeatureOptions& options);

  // feats: all FPN levels; uses feats[start_level..end_level]. Returns [B, E, H_s, W_s], the size of
  // feats[start_level] (stride 4 for P2).
  torch::Tensor forward(const std::vector<torch::Tensor>& feats);

  [[nodiscard]] const SOLOv2MaskFeatureOptions& options() const { return options_; }

  torch::nn::ModuleList convs_all_levels{nullptr};  // per level a container of conv0, conv1, ...
  torch::nn::Sequential conv_pred{nullptr};

 private:
  SOLOv2MaskFeatureOptions options_;
  std::vector<std::vector<ConvNorm>> level_convs_;  // the same modules, for forward()
};
TORCH_MODULE(SOLOv2MaskFeature);

}  // namespace studio
