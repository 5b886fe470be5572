#pragma once
// Mask R-CNN with a ResNet + FPN backbone (He et al. 2017), exact to torchvision 0.14's
// maskrcnn_resnet50_fpn: backbone.body (ResNet C2..C5) -> backbone.fpn (torchvision layout,
// P2..P6) -> rpn -> roi_heads (box and mask branches). Module names are torchvision's, so its
// state dicts load key for key (weights/weight_import.h maps the legacy names of the published
// COCO file). As in torchvision the model owns its input transform (GeneralizedRCNNTransform):
// the loader hands over images at their own size, unnormalised (recipe data.input.resize: false),
// and the model divides by 255, normalises, resizes bilinearly to min_size / max_size, and pads
// the batch to a multiple of 32; targets follow (boxes by the per-axis ratio, masks by nearest
// interpolation). predict() maps boxes back with the inverse ratios and pastes the 28x28 masks
// at the original size.
//
// Class indices 0..C-1 are torchvision's labels 1..C (0 is background).
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/config.h"
#include "modeling/backbone/backbone.h"
#include "modeling/detector.h"
#include "modeling/neck/fpn.h"
#include "modeling/proposal/rpn.h"
#include "modeling/roi_heads/roi_heads.h"

namespace studio {

// The recipe's model.transform (torchvision's GeneralizedRCNNTransform arguments).
struct RCNNTransformOptions {
  std::vector<int> min_size{800};  // training draws one per image (torchvision's torch_choice); test uses the last
  int max_size = 1333;
  int size_divisor = 32;
  std::array<double, 3> mean{0.485, 0.456, 0.406};  // RGB, after dividing by 255
  std::array<double, 3> std{0.229, 0.224, 0.225};
};

struct MaskRCNNOptions {
  int num_classes = 80;
  RCNNTransformOptions transform;
  BackboneOptions backbone;  // frozen_bn, conv1 + layer1 frozen (torchvision's trainable_backbone_layers 3)
  FPNOptions neck;           // layout torchvision, 256 channels, P2..P6
  RPNOptions rpn;
  RoIHeadsOptions roi_heads;  // num_classes / in_channels set by the constructor
};

// torchvision's BackboneWithFPN: children body and fpn.
class BackboneWithFPNImpl : public torch::nn::Module {
 public:
  BackboneWithFPNImpl(std::shared_ptr<Backbone> body, const FPNOptions& fpn);
  std::vector<torch::Tensor> forward(const torch::Tensor& images) { return fpn->forward(body->forward(images)); }
  std::shared_ptr<Backbone> body;
  FPN fpn{nullptr};
};
TORCH_MODULE(BackboneWithFPN);

class MaskRCNN : public Detector {
 public:
  explicit MaskRCNN(MaskRCNNOptions options);

  LossTerms losses(const ImageBatch& batch, const std::vector<InstanceTargets>& targets) override;
  std::vector<Instances> predict(const ImageBatch& batch) override;
  [[nodiscard]] int num_classes() const override { return options_.num_classes; }
  [[nodiscard]] bool needs_masks() const override { return true; }
  [[nodiscard]] std::string backbone_name() const override { return "backbone.body"; }
  // The RPN's anchors for an image of that size: resized by model.transform, padded to
  // size_divisor, grids of P2..P6 (strides 4..64), in (level, y, x, anchor) order.
  [[nodiscard]] torch::Tensor anchors_for(std::array<int, 2> image_size) const override;

  // torchvision's GeneralizedRCNNTransform: `batch` holds images at their own size with values
  // 0..255 (image_sizes = original sizes); returns the normalised, resized, padded batch and, when
  // `targets` is given, the targets resized with it (masks padded to the new batch size).
  std::pair<ImageBatch, std::vector<InstanceTargets>> transform(const ImageBatch& batch,
                                                                const std::vector<InstanceTargets>* targets) const;
  // losses() after the transform (parity tests feed torchvision's transformed batch here).
  LossTerms losses_transformed(const ImageBatch& batch, const std::vector<InstanceTargets>& targets);

  // The detections in input coordinates (before mapping back to the original size), with
  // torchvision's labels 1..C: what roi_heads returns in torchvision, for parity tests. `batch`
  // is transformed already.
  std::vector<RoIDetections> detect(const ImageBatch& batch);

  [[nodiscard]] const MaskRCNNOptions& options() const { return options_; }

  BackboneWithFPN backbone{nullptr};
  RPN rpn{nullptr};
  RoIHeads roi_heads{nullptr};

 private:
  MaskRCNNOptions options_;
};

// Reads the recipe's model mapping for type mask_rcnn: backbone, neck, rpn, roi_heads, test.
[[nodiscard]] MaskRCNNOptions mask_rcnn_options_from_config(const ConfigNode& model, int num_classes);

// torchvision's _resize_image_and_masks size rule: scale = min(min_size / short, max_size / long)
// in float32, output floor(side * scale) per side. Returns (h, w) and the scale.
[[nodiscard]] std::array<int, 2> rcnn_resized_size(std::array<int, 2> size, int min_size, int max_size,
                                                   double* scale = nullptr);

// Image sizes of a batch as int64 (h, w) pairs, as the ops take them.
[[nodiscard]] std::vector<std::array<int64_t, 2>> batch_image_sizes(const ImageBatch& batch);

// torchvision's transform.postprocess for one image: boxes [K, 4] in input coordinates times
// (original / resized) per axis, in float32 as its resize_boxes.
[[nodiscard]] torch::Tensor resize_boxes_to_original(const torch::Tensor& boxes, std::array<int, 2> resized,
                                                     std::array<int, 2> original);

}  // namespace studio
