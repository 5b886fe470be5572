#pragma once
// The second stage of Mask R-CNN (He et al. 2017) as torchvision 0.14 builds it
// (models/detection/roi_heads.py, mask_rcnn.py, faster_rcnn.py): proposals pooled from the FPN
// levels with MultiScaleRoIAlign, the two-layer box head and the class-specific box predictor,
// and the four-conv mask head with its 2x up-sampling predictor. Training samples the proposals
// (GT boxes appended, matcher 0.5 / 0.5, 512 a image, a quarter positive) and returns cross-entropy,
// box regression and per-class mask BCE losses; inference decodes per class, filters by score and
// size, runs NMS per class and predicts the masks of the kept boxes.
//
// Labels inside are torchvision's: 0 is background, class index c is label c + 1. Module names
// follow torchvision (box_head.fc6/fc7, box_predictor.cls_score/bbox_pred, mask_head.{0..3}.0,
// mask_predictor.conv5_mask/mask_fcn_logits) so its checkpoints load unchanged.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/config.h"
#include "modeling/ops/box_coder/box_coder.h"
#include "modeling/ops/multi_scale_roi_align/multi_scale_roi_align.h"
#include "modeling/structures.h"

namespace studio {

// The recipe's model.roi_heads (torchvision's defaults; PaddleDetection's in brackets).
struct RoIHeadsOptions {
  int64_t num_classes = 80;  // foreground classes; the predictors have num_classes + 1 outputs
  int64_t in_channels = 256;
  int64_t representation_size = 1024;  // fc6 / fc7 width
  int64_t mask_channels = 256;         // mask head convs and conv5_mask
  int64_t mask_layers = 4;
  int64_t box_pool_size = 7;
  int64_t mask_pool_size = 14;  // the predictor doubles it: 28x28 masks
  int64_t sampling_ratio = 2;   // RoIAlign bins' sample grid [0: adaptive]
  bool aligned = false;         // RoIAlign half-pixel offset [true]
  double fg_iou_thresh = 0.5;
  double bg_iou_thresh = 0.5;
  int batch_size_per_image = 512;
  double positive_fraction = 0.25;
  std::array<double, 4> bbox_reg_weights{10.0, 10.0, 5.0, 5.0};
  std::string box_loss = "smooth_l1";  // smooth_l1 (beta 1/9) | l1
  // Inference (the recipe's model.test, SOLOv2's key names).
  double score_thresh = 0.05;  // class probability a detection needs (> this; 0 keeps all)
  double nms_thresh = 0.5;     // NMS per class
  int64_t detections_per_img = 100;
  double mask_thresh = 0.5;  // pasted mask probability -> binary mask (> this)
};

// Reads model.roi_heads (representation_size, mask_channels, mask_layers, box_pool_size,
// mask_pool_size, sampling_ratio, aligned, fg_iou_thresh, bg_iou_thresh, batch_size_per_image,
// positive_fraction, bbox_reg_weights, box_loss) and model.test (score_thr, nms_thr, max_per_img,
// mask_thr) into `o` (num_classes and in_channels are the caller's).
void roi_heads_options_from_config(const ConfigNode& roi_heads, const ConfigNode& test, RoIHeadsOptions& o);

// torchvision's TwoMLPHead: flatten -> fc6 + ReLU -> fc7 + ReLU.
class TwoMLPHeadImpl : public torch::nn::Module {
 public:
  TwoMLPHeadImpl(int64_t in_features, int64_t representation_size);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear fc6{nullptr}, fc7{nullptr};
};
TORCH_MODULE(TwoMLPHead);

// torchvision's FastRCNNPredictor: cls_score (C + 1) and bbox_pred (4 (C + 1)).
class FastRCNNPredictorImpl : public torch::nn::Module {
 public:
  FastRCNNPredictorImpl(int64_t in_features, int64_t num_classes_with_bg);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);
  torch::nn::Linear cls_score{nullptr}, bbox_pred{nullptr};
};
TORCH_MODULE(FastRCNNPredictor);

// torchvision's MaskRCNNPredictor: conv5_mask (ConvTranspose 2x2 stride 2) + ReLU -> mask_fcn_logits.
class MaskRCNNPredictorImpl : public torch::nn::Module {
 public:
  MaskRCNNPredictorImpl(int64_t in_channels, int64_t dim_reduced, int64_t num_classes_with_bg);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::ConvTranspose2d conv5_mask{nullptr};
  torch::nn::Conv2d mask_fcn_logits{nullptr};
};
TORCH_MODULE(MaskRCNNPredictor);

// Detections of one image in input coordinates, torchvision's labels (1..C), sorted by score.
struct RoIDetections {
  torch::Tensor boxes;       // [K, 4]
  torch::Tensor scores;      // [K]
  torch::Tensor labels;      // [K] int64, 1..C
  torch::Tensor mask_probs;  // [K, 1, M, M] (M = 2 * mask_pool_size) of the label's channel
};

class RoIHeadsImpl : public torch::nn::Module {
 public:
  explicit RoIHeadsImpl(const RoIHeadsOptions& options);

  // Training (targets and losses set): samples the proposals against the targets (labels are
  // class indices 0..C-1; masks [N, H, W] of the padded batch) and appends loss_classifier,
  // loss_box_reg and loss_mask. Inference: the detections per image.
  std::vector<RoIDetections> forward(const std::vector<torch::Tensor>& features,
                                     const std::vector<torch::Tensor>& proposals,
                                     const std::vector<std::array<int64_t, 2>>& image_sizes,
                                     const std::vector<InstanceTargets>* targets, LossTerms* losses);

  // Box branch on given boxes (per image, input coordinates): class logits [N, C + 1] and
  // deltas [N, 4 (C + 1)]. Exposed for parity tests.
  std::pair<torch::Tensor, torch::Tensor> box_outputs(const std::vector<torch::Tensor>& features,
                                                      const std::vector<torch::Tensor>& boxes,
                                                      const std::vector<std::array<int64_t, 2>>& image_sizes);
  // Mask logits [N, C + 1, M, M] for boxes per image.
  torch::Tensor mask_logits(const std::vector<torch::Tensor>& features, const std::vector<torch::Tensor>& boxes,
                            const std::vector<std::array<int64_t, 2>>& image_sizes);
  // torchvision's postprocess_detections: softmax, per-class decode, clip, drop background,
  // score > thresh, remove boxes under 1e-2, NMS per class, keep detections_per_img.
  std::vector<RoIDetections> postprocess_detections(const torch::Tensor& class_logits,
                                                    const torch::Tensor& box_regression,
                                                    const std::vector<torch::Tensor>& proposals,
                                                    const std::vector<std::array<int64_t, 2>>& image_sizes) const;

  [[nodiscard]] const RoIHeadsOptions& options() const { return options_; }
  void set_test_options(double score_thresh, double nms_thresh, int64_t detections_per_img);

  TwoMLPHead box_head{nullptr};
  FastRCNNPredictor box_predictor{nullptr};
  torch::nn::Sequential mask_head{nullptr};
  MaskRCNNPredictor mask_predictor{nullptr};

 private:
  RoIHeadsOptions options_;
  BoxCoder box_coder_;
  MultiScaleRoIAlignOptions box_pool_, mask_pool_;
};
TORCH_MODULE(RoIHeads);

// torchvision's project_masks_on_boxes: RoIAlign (aligned false, adaptive sampling, scale 1) of
// the GT masks [G, H, W] selected by matched_idxs [N] onto boxes [N, 4] -> soft targets [N, M, M].
[[nodiscard]] torch::Tensor project_masks_on_boxes(const torch::Tensor& gt_masks, const torch::Tensor& boxes,
                                                   const torch::Tensor& matched_idxs, int64_t m);

}  // namespace studio
