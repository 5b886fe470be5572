#include "modeling/dense_heads/solov2_mask_feature.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "modeling/layers/conv_norm.h"
#include "modeling/layers/coord_features.h"
#include "modeling/layers/resize.h"

namespace studio {

SOLOv2MaskFeatureOptions solov2_mask_feature_options_from_config(const ConfigNode& node) {
  node.allow({"start_level", "end_level", "channels"});
  SOLOv2MaskFeatureOptions o;
  o.start_level = node.get_int("start_level", o.start_level);
  o.end_level = node.get_int("end_level", o.end_level);
  o.channels = node.get_int("channels", o.channels);
  if (o.start_level < 0 || o.end_level < o.start_level)
    throw Error(node.where("end_level") + ": expected 0 <= start_level <= end_level, got " +
                std::to_string(o.start_level) + ".." + std::to_string(o.end_level));
  if (o.channels <= 0) throw Error(node.where("channels") + ": expected a positive number of channels");
  return o;
}

SOLOv2MaskFeatureImpl::SOLOv2MaskFeatureImpl(const SOLOv2MaskFeatureOptions& options) : options_(options) {
  const int levels = options.end_level - options.start_level + 1;
  convs_all_levels = register_module("convs_all_levels", torch::nn::ModuleList());
  for (int i = 0; i < levels; ++i) {
    // A plain container per level holding conv0, conv1, ...; the 2x upsampling after each conv
    // (the reference's parameter-free upsample<j>) is applied in forward().
    auto level = std::make_shared<torch::nn::Module>();
    std::vector<ConvNorm> convs;
    const int n = std::max(i, 1);
    for (int j = 0; j < n; ++j) {
      // The deepest level sees the coordinates (CoordConv) in its first conv.
      int in = j == 0 ? options.in_channels + (i > 0 && i == levels - 1 ? 2 : 0) : options.channels;
      convs.push_back(level->register_module("conv" + std::to_string(j),
                                             ConvNorm(ConvNormOptions{in, options.channels, 3, options.norm_groups})));
    }
    convs_all_levels->push_back(level);
    level_convs_.push_back(std::move(convs));
  }
  conv_pred = register_module("conv_pred", torch::nn::Sequential());
  conv_pred->push_back("0", ConvNorm(ConvNormOptions{options.channels, options.out_channels, 1, options.norm_groups}));

  // mmdet init_weights: every conv N(0, 0.01); GN stays 1, 0.
  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false))
    if (auto* c = m->as<torch::nn::Conv2d>()) c->weight.normal_(0.0, 0.01);
}

torch::Tensor SOLOv2MaskFeatureImpl::forward(const std::vector<torch::Tensor>& feats) {
  const int levels = options_.end_level - options_.start_level + 1;
  TORCH_CHECK(static_cast<int>(feats.size()) > options_.end_level, "SOLOv2MaskFeature: expected at least ",
              options_.end_level + 1, " feature levels, got ", feats.size());
  torch::Tensor sum;
  for (int i = 0; i < levels; ++i) {
    torch::Tensor x = feats[options_.start_level + i];
    if (i > 0 && i == levels - 1) x = append_coord_features(x);
    torch::Tensor y = x;
    for (auto& conv : level_convs_[i]) {
      y = conv->forward(y);
      if (i > 0) y = scale_bilinear(y, 2.0);  // nn.Upsample(scale_factor=2, bilinear, align_corners=False)
    }
    // Inputs padded to a multiple of 32 make every level exactly 2^i times the first; otherwise
    // align the sizes rather than fail.
    if (sum.defined() && y.sizes() != sum.sizes())
      y = resize_bilinear(y, sum.size(2), sum.size(3));
    sum = sum.defined() ? sum + y : y;
  }
  return conv_pred->forward(sum);
}

}  // namespace studio
