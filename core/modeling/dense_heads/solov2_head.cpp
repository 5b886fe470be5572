#include "modeling/dense_heads/solov2_head.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "common/error.h"
#include "modeling/layers/coord_features.h"
#include "modeling/layers/resize.h"

namespace studio {

SOLOv2HeadOptions solov2_head_options_from_config(const ConfigNode& head) {
  head.allow({"stacked_convs", "feat_channels", "kernel_out_channels", "strides", "num_grids", "scale_ranges", "sigma",
              "norm_groups", "mask_feature", "loss"});
  SOLOv2HeadOptions o;
  o.stacked_convs = head.get_int("stacked_convs", o.stacked_convs);
  o.feat_channels = head.get_int("feat_channels", o.feat_channels);
  o.kernel_out_channels = head.get_int("kernel_out_channels", o.kernel_out_channels);
  o.strides = head.get_int_list("strides", o.strides);
  o.num_grids = head.get_int_list("num_grids", o.num_grids);
  o.scale_ranges = head.get_pair_list(o.scale_ranges, "scale_ranges");
  o.sigma = head.get_double("sigma", o.sigma);
  o.norm_groups = head.get_int("norm_groups", o.norm_groups);
  if (o.stacked_convs < 1) throw Error(head.where("stacked_convs") + ": expected at least 1");
  if (o.num_grids.size() < 2) throw Error(head.where("num_grids") + ": expected one grid size per level (at least 2)");
  if (o.strides.size() != o.num_grids.size())
    throw Error(head.where("strides") + ": expected " + std::to_string(o.num_grids.size()) +
                " strides (one per entry of num_grids), got " + std::to_string(o.strides.size()));
  if (o.scale_ranges.size() != o.num_grids.size())
    throw Error(head.where("scale_ranges") + ": expected " + std::to_string(o.num_grids.size()) +
                " ranges (one per entry of num_grids), got " + std::to_string(o.scale_ranges.size()));
  for (int g : o.num_grids)
    if (g < 1) throw Error(head.where("num_grids") + ": grid sizes must be positive");
  for (int channels : {o.feat_channels, o.kernel_out_channels})
    if (channels % o.norm_groups != 0)
      throw Error(head.where("norm_groups") + ": " + std::to_string(o.norm_groups) +
                  " GroupNorm groups must divide feat_channels and kernel_out_channels (" + std::to_string(channels) +
                  ")");
  o.mask_feature = solov2_mask_feature_options_from_config(head.child("mask_feature"));
  o.mask_feature.out_channels = o.kernel_out_channels;
  o.mask_feature.norm_groups = o.norm_groups;
  if (o.mask_feature.channels % o.norm_groups != 0)
    throw Error(head.where("mask_feature") + ": mask_feature.channels " + std::to_string(o.mask_feature.channels) +
                " is not divisible by norm_groups " + std::to_string(o.norm_groups));
  const ConfigNode loss = head.child("loss");
  loss.allow({"dice_weight", "focal_alpha", "focal_gamma", "focal_weight"});
  o.loss.dice_weight = loss.get_double("dice_weight", o.loss.dice_weight);
  o.loss.focal_alpha = loss.get_double("focal_alpha", o.loss.focal_alpha);
  o.loss.focal_gamma = loss.get_double("focal_gamma", o.loss.focal_gamma);
  o.loss.focal_weight = loss.get_double("focal_weight", o.loss.focal_weight);
  return o;
}

std::vector<torch::Tensor> solov2_resize_feats(const std::vector<torch::Tensor>& feats, size_t levels) {
  const size_t n = levels == 0 ? feats.size() : std::min(levels, feats.size());
  std::vector<torch::Tensor> out(feats.begin(), feats.begin() + static_cast<std::ptrdiff_t>(n));
  // Level 0 at half size: Python's F.interpolate(scale_factor=0.5) gives floor(size * 0.5).
  out[0] = scale_bilinear(feats[0], 0.5);
  if (n == feats.size() && n > 1) out[n - 1] = resize_bilinear(feats[n - 1], feats[n - 2].size(2), feats[n - 2].size(3));
  return out;
}

SOLOv2HeadImpl::SOLOv2HeadImpl(const SOLOv2HeadOptions& options) : options_(options) {
  kernel_convs = register_module("kernel_convs", torch::nn::ModuleList());
  cate_convs = register_module("cate_convs", torch::nn::ModuleList());
  for (int i = 0; i < options.stacked_convs; ++i) {
    const int in = i == 0 ? options.in_channels : options.feat_channels;
    ConvNorm k(ConvNormOptions{i == 0 ? in + 2 : in, options.feat_channels, 3, options.norm_groups});
    ConvNorm c(ConvNormOptions{in, options.feat_channels, 3, options.norm_groups});
    k->init_normal(0.01);
    c->init_normal(0.01);
    kernel_convs->push_back(k);
    cate_convs->push_back(c);
  }
  solo_cate = register_module(
      "solo_cate", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.feat_channels, options.num_classes, 3).padding(1)));
  solo_kernel = register_module("solo_kernel", torch::nn::Conv2d(torch::nn::Conv2dOptions(
                                                   options.feat_channels, options.kernel_out_channels, 3)
                                                                    .padding(1)));
  torch::NoGradGuard no_grad;
  solo_cate->weight.normal_(0.0, 0.01);
  // bias_init_with_prob(0.01): every class starts at probability 0.01 (focal-loss prior).
  solo_cate->bias.fill_(-std::log((1.0 - 0.01) / 0.01));
  solo_kernel->weight.normal_(0.0, 0.01);
  solo_kernel->bias.zero_();
}

SOLOv2HeadOutput SOLOv2HeadImpl::forward(const std::vector<torch::Tensor>& feats) {
  TORCH_CHECK(feats.size() >= options_.num_grids.size(), "SOLOv2Head: expected at least ",
              options_.num_grids.size(), " feature levels (one per grid), got ", feats.size());
  std::vector<torch::Tensor> levels = solov2_resize_feats(feats, options_.num_grids.size());
  SOLOv2HeadOutput out;
  for (size_t l = 0; l < levels.size(); ++l) {
    const int64_t s = options_.num_grids[l];
    // Coordinates are appended at the level's resolution, then features and coordinates are
    // resized together to the S x S grid; the category branch drops the coordinates again.
    torch::Tensor kernel_feat = resize_bilinear(append_coord_features(levels[l]), s, s);  // [B, C+2, S, S]
    torch::Tensor cate_feat = kernel_feat.slice(1, 0, kernel_feat.size(1) - 2).contiguous();
    for (const auto& m : *kernel_convs) kernel_feat = m->as<ConvNormImpl>()->forward(kernel_feat);
    for (const auto& m : *cate_convs) cate_feat = m->as<ConvNormImpl>()->forward(cate_feat);
    out.kernel_preds.push_back(solo_kernel->forward(kernel_feat));  // [B, E, S, S]
    out.cate_preds.push_back(solo_cate->forward(cate_feat));        // [B, C, S, S]
  }
  return out;
}

}  // namespace studio
