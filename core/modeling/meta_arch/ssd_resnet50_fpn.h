#pragma once
// SSD-ResNet50-FPN, exact to MindSpore's `ssd_resnet50_fpn` (mindspore-ai/models official/cv/SSD,
// src/{resnet,fpn,ssd}.py; the port of TF-OD-API's ssd_resnet50_v1_fpn_640x640, a RetinaNet):
//   feature_extractor.resnet      ResNet-50 (stride on the 3x3 conv, 1x1 + BN shortcut), every conv
//                                 and the stem's max pool with TensorFlow's SAME padding (extra
//                                 padding at the bottom and right), BN eps 1e-3 momentum 0.997 (MindSpore's
//                                 convention; 0.003 in PyTorch's), the last BN of a block starting at 0;
//   feature_extractor.fpn         1x1 laterals with bias on C3..C5, top-down by TensorFlow's legacy
//                                 bilinear resize (half_pixel_centers false) and add, then 3x3
//                                 conv-BN(eps 1e-5, momentum 0.9)-ReLU6 -> P3..P5;
//   feature_extractor.bottom_up   P6, P7: the same conv-BN-ReLU6 with stride 2 on the level above;
//   multi_box                     separate box and class towers of 4 x [3x3 conv with bias shared by
//                                 the 5 levels -> BN per level (eps 1e-3, momentum 0.97) -> ReLU6],
//                                 then a shared 3x3 conv to 6 x 4 offsets and 6 x (C + 1) logits.
// Outputs [B, A, 4] offsets (y, x, h, w order) and [B, A, C + 1] logits, A = 51,150 at 640.
// Training: grid anchors, matching and coder of modeling/ops/grid_anchor_ssd, sigmoid focal loss on
// all C + 1 columns plus smooth L1 on positives, divided by the matched anchors of the batch.
// predict(): sigmoid, decode, clip; per class score > score_thr, NMS (+1-pixel areas) at nms_thr on
// boxes scaled to the original size, at most max_per_class each.
//
// Input: images of any size with values 0..255 (recipe data.input.resize: false); the model resizes
// each to image_size squared (aspect not kept; the training pipeline has done it already) and
// normalises with the ImageNet mean and std times 255. Class indices 0..C-1 are the reference's 1..C.
// Parameter names follow the reference's cells, except the shared tower convs (multi_box.loc_convs.K,
// cls_convs.K; MindSpore names them after the first level that uses them) and BN's PyTorch names
// (weight, bias, running_mean, running_var for gamma, beta, moving_mean, moving_variance).
#include <array>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/config.h"
#include "modeling/detector.h"
#include "modeling/ops/grid_anchor_ssd/grid_anchor_ssd.h"

namespace studio {

struct SSDResNetFPNTestOptions {
  double score_thr = 0.1;   // the reference's min_score
  double nms_thr = 0.6;     // nms_threshold
  int max_per_class = 100;  // max_boxes (per class)
  int max_per_img = 0;      // then the best this many over all classes; 0: no cap (the reference)
};

struct SSDResNetFPNOptions {
  int num_classes = 80;  // object classes; the class head predicts num_classes + 1 (background first)
  int image_size = 640;
  int depth = 50;          // 50 (the reference) or 18 (basic blocks, for small CPU recipes)
  int fpn_channels = 256;  // extras_out_channels
  int tower_convs = 4;     // num_addition_layers
  std::array<double, 3> mean{123.675, 116.28, 103.53};  // RGB, 0..255
  std::array<double, 3> std{58.395, 57.12, 57.375};
  double anchor_scale = 4.0;  // base anchor = anchor_scale * stride
  double match_iou = 0.5;
  double focal_gamma = 2.0, focal_alpha = 0.25;
  // The class logits' initial bias: 0 (the reference: no prior) or a probability p giving
  // -log((1 - p) / p) on the object columns (RetinaNet's 0.01, TF-OD-API's -4.6) and the opposite
  // on the background column; faster from scratch.
  double cls_prior_prob = 0.0;
  // The ResNet's BatchNorm momentum in MindSpore's convention (running = m * running + (1 - m) *
  // batch): 0.997, the reference's. Its statistics then trail a network trained from scratch for a
  // few hundred steps; small CPU recipes use 0.9 (PyTorch's 0.1).
  double resnet_bn_momentum = 0.997;
  // An ImageNet ResNet-50 for feature_extractor.resnet (torchvision's resnet50 .pth, or what
  // `weights import --arch resnet50 --out` wrote). Empty: the reference's TruncatedNormal(0.02) init.
  std::string pretrained;
  // The ResNet's initial conv weights without `pretrained`: "truncated_normal" (the reference's
  // init_net_param, TruncatedNormal(0.02), which an ImageNet ResNet then replaces) or "kaiming"
  // (torchvision's ResNet init, normal with std sqrt(2 / fan_out)): a ResNet trained from scratch
  // learns faster from it.
  std::string backbone_init = "truncated_normal";
  SSDResNetFPNTestOptions test;
};

// model: {type: ssd_resnet50_fpn, num_classes, image_size, depth, fpn_channels, tower_convs, mean, std,
//         anchor_scale, match_iou, focal_gamma, focal_alpha, cls_prior_prob, resnet_bn_momentum, pretrained,
//         backbone_init,
//         test: {score_thr, nms_thr, max_per_class, max_per_img}}.
[[nodiscard]] SSDResNetFPNOptions ssd_resnet_fpn_options_from_config(const ConfigNode& model, int num_classes);

class SSDResNetFPN : public Detector {
 public:
  explicit SSDResNetFPN(SSDResNetFPNOptions options);

  LossTerms losses(const ImageBatch& batch, const std::vector<InstanceTargets>& targets) override;
  std::vector<Instances> predict(const ImageBatch& batch) override;
  [[nodiscard]] int num_classes() const override { return options_.num_classes; }
  [[nodiscard]] std::string backbone_name() const override { return "feature_extractor.resnet"; }
  // The anchors in corner form x1, y1, x2, y2, in input pixels of the image_size square.
  [[nodiscard]] torch::Tensor anchors_for(std::array<int, 2> image_size) const override;

  // The features P3..P7 of a normalised batch.
  std::vector<torch::Tensor> features(const torch::Tensor& normalised);
  // The network: {offsets [B, A, 4], logits [B, A, C + 1]}.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& normalised);
  [[nodiscard]] torch::Tensor normalise(const ImageBatch& batch) const;
  // Sigmoid scores [A, C + 1] and relative corners (y1, x1, y2, x2) [A, 4] of one image ->
  // detections at (height, width), by score.
  [[nodiscard]] Instances postprocess(const torch::Tensor& scores, const torch::Tensor& yxyx,
                                      std::array<int, 2> original_size) const;

  [[nodiscard]] const GridAnchors& anchors() const { return anchors_; }
  [[nodiscard]] const SSDResNetFPNOptions& options() const { return options_; }

 private:
  SSDResNetFPNOptions options_;
  GridAnchors anchors_;
  std::shared_ptr<torch::nn::Module> extractor_, head_;  // feature_extractor, multi_box
};

// TensorFlow's legacy bilinear resize (align_corners and half_pixel_centers false: source = dest *
// in / out), MindSpore's ResizeBilinear default, on [B, C, H, W].
[[nodiscard]] torch::Tensor resize_bilinear_legacy(const torch::Tensor& x, int64_t out_h, int64_t out_w);
// TensorFlow SAME padding of [B, C, H, W] for a kernel k and stride s: total max((ceil(n / s) - 1) * s
// + k - n, 0) per axis, the smaller half before.
[[nodiscard]] torch::Tensor pad_same(const torch::Tensor& x, int64_t k, int64_t s, double value = 0.0);

}  // namespace studio
