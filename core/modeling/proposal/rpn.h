#pragma once
// Region Proposal Network (Ren et al. 2015) as torchvision 0.14 builds it for Mask R-CNN
// (models/detection/rpn.py): a head shared over the FPN levels (3x3 conv + ReLU, then 1x1
// objectness and box-delta convs), anchors from ops/anchor_generator, proposals by per-level
// top-n -> decode -> clip -> small-box and score filters -> NMS per level -> top-n per image, and
// in training the matcher / balanced sampler / BCE + smooth-L1 losses. Names follow torchvision
// (head.conv.0.0, head.cls_logits, head.bbox_pred) so its checkpoints load unchanged; every tensor
// expression follows its order, so float32 results are bit-equal to it on the same LibTorch.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/config.h"
#include "modeling/ops/anchor_generator/anchor_generator.h"
#include "modeling/ops/box_coder/box_coder.h"
#include "modeling/structures.h"

namespace studio {

// The recipe's model.rpn (torchvision's defaults; PaddleDetection's in brackets).
struct RPNOptions {
  AnchorGeneratorOptions anchors;  // sizes 32..512 on P2..P6, ratios 0.5, 1, 2
  int pre_nms_top_n_train = 2000;  // per level, by objectness
  int pre_nms_top_n_test = 1000;
  int post_nms_top_n_train = 2000;  // per image [1000]
  int post_nms_top_n_test = 1000;
  double nms_thresh = 0.7;
  double min_size = 1e-3;     // proposals with a side below this are dropped [0]
  double score_thresh = 0.0;  // objectness probability a proposal needs
  double fg_iou_thresh = 0.7;
  double bg_iou_thresh = 0.3;
  int batch_size_per_image = 256;  // anchors sampled for the loss
  double positive_fraction = 0.5;
  // Box regression loss: smooth_l1 (beta 1/9, torchvision) or l1 (PaddleDetection).
  std::string box_loss = "smooth_l1";
};

// Reads model.rpn (all keys optional): anchor_sizes ([[32], [64], ...] one list a level),
// aspect_ratios, pre_nms_top_n_train/test, post_nms_top_n_train/test, nms_thresh, min_size,
// score_thresh, fg_iou_thresh, bg_iou_thresh, batch_size_per_image, positive_fraction, box_loss.
[[nodiscard]] RPNOptions rpn_options_from_config(const ConfigNode& node);

// torchvision's RPNHead: conv (Sequential(Sequential(3x3 conv, ReLU))), cls_logits (A outputs),
// bbox_pred (4A); N(0, 0.01) weights, zero biases.
class RPNHeadImpl : public torch::nn::Module {
 public:
  RPNHeadImpl(int64_t in_channels, int64_t num_anchors);
  // Per level: objectness [B, A, H, W] and deltas [B, 4A, H, W].
  std::pair<std::vector<torch::Tensor>, std::vector<torch::Tensor>> forward(
      const std::vector<torch::Tensor>& features);

  torch::nn::Sequential conv{nullptr};
  torch::nn::Conv2d cls_logits{nullptr}, bbox_pred{nullptr};
};
TORCH_MODULE(RPNHead);

// What the RPN gives the RoI heads, per image: boxes [N, 4] in input coordinates and their
// objectness probabilities [N], sorted by NMS (highest first).
struct Proposals {
  std::vector<torch::Tensor> boxes;
  std::vector<torch::Tensor> scores;
};

class RPNImpl : public torch::nn::Module {
 public:
  RPNImpl(const RPNOptions& options, int64_t in_channels);

  // Proposals for the batch (image_sizes: (h, w) inside the padding of `images` [B, 3, H, W]).
  // With `targets` (training), also the losses loss_objectness and loss_rpn_box_reg.
  Proposals forward(const torch::Tensor& images, const std::vector<std::array<int64_t, 2>>& image_sizes,
                    const std::vector<torch::Tensor>& features, const std::vector<InstanceTargets>* targets,
                    LossTerms* losses);

  // The steps, exposed for parity tests. Head outputs flattened as torchvision's
  // concat_box_prediction_layers: objectness [B * sum(H W A), 1], deltas [B * sum(H W A), 4],
  // in (level, y, x, anchor) order per image.
  static std::pair<torch::Tensor, torch::Tensor> flatten_predictions(const std::vector<torch::Tensor>& objectness,
                                                                     const std::vector<torch::Tensor>& deltas);
  // torchvision's filter_proposals: proposals [B, A_total, 4], objectness [B * A_total, 1].
  Proposals filter_proposals(const torch::Tensor& proposals, const torch::Tensor& objectness,
                             const std::vector<std::array<int64_t, 2>>& image_sizes,
                             const std::vector<int64_t>& num_anchors_per_level) const;

  [[nodiscard]] const RPNOptions& options() const { return options_; }
  [[nodiscard]] const AnchorGenerator& anchor_generator() const { return anchor_generator_; }

  RPNHead head{nullptr};

 private:
  RPNOptions options_;
  AnchorGenerator anchor_generator_;
  BoxCoder box_coder_{{1.0, 1.0, 1.0, 1.0}};
};
TORCH_MODULE(RPN);

// The box regression loss of the R-CNN heads: smooth_l1 with beta (sum), or l1 (sum) for
// PaddleDetection's recipes. `kind` is "smooth_l1" or "l1".
[[nodiscard]] torch::Tensor rcnn_box_loss(const torch::Tensor& input, const torch::Tensor& target,
                                          const std::string& kind, double beta);

}  // namespace studio
