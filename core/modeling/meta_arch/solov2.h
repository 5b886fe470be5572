#pragma once
// SOLOv2 (Wang et al. 2020, "SOLOv2: Dynamic and Fast Instance Segmentation"), assembled from
// finished parts: backbone (C2..C5) -> FPN (P2..P6) -> {kernel + category head on the five levels,
// unified mask features from P2..P5}. Training: targets per grid cell, Dice + Focal loss.
// Inference: the reference's get_seg (points NMS, score and area filters, maskness, Matrix NMS).
// Child names as the reference checkpoint: backbone, neck, mask_feat_head, head (SOLO's bbox_head).
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "common/config.h"
#include "modeling/backbone/backbone.h"
#include "modeling/dense_heads/solov2_head.h"
#include "modeling/dense_heads/solov2_mask_feature.h"
#include "modeling/dense_heads/solov2_targets.h"
#include "modeling/detector.h"
#include "modeling/neck/fpn.h"
#include "modeling/ops/matrix_nms/matrix_nms.h"

namespace studio {

// The recipe's model.test.
struct SOLOv2TestOptions {
  double score_thr = 0.1;    // category score (after points NMS) to become a candidate
  int nms_pre = 500;         // candidates kept (by maskness x score) before Matrix NMS
  double mask_thr = 0.5;     // mask probability -> binary mask
  double update_thr = 0.05;  // decayed score to keep after Matrix NMS
  MatrixNmsOptions nms;      // kernel gaussian|linear, sigma
  int max_per_img = 100;
};

[[nodiscard]] SOLOv2TestOptions solov2_test_options_from_config(const ConfigNode& test);

struct SOLOv2Options {
  int num_classes = 80;
  BackboneOptions backbone;
  FPNOptions neck;         // in_channels are set from the backbone by the constructor
  SOLOv2HeadOptions head;  // num_classes / in_channels / mask_feature channels set by the constructor
  SOLOv2TestOptions test;
};

class SOLOv2 : public Detector {
 public:
  explicit SOLOv2(SOLOv2Options options);

  LossTerms losses(const ImageBatch& batch, const std::vector<InstanceTargets>& targets) override;
  std::vector<Instances> predict(const ImageBatch& batch) override;
  [[nodiscard]] int num_classes() const override { return options_.num_classes; }
  [[nodiscard]] bool needs_masks() const override { return true; }

  struct Outputs {
    SOLOv2HeadOutput head;        // per level kernels [B, E, S, S], category logits [B, C, S, S]
    torch::Tensor mask_features;  // [B, E, H/4, W/4]
  };
  // Backbone, neck, head and mask features for images [B, 3, H, W] (H, W multiples of 32).
  Outputs forward(const torch::Tensor& images);

  [[nodiscard]] const SOLOv2Options& options() const { return options_; }

  std::shared_ptr<Backbone> backbone;
  FPN neck{nullptr};
  SOLOv2MaskFeature mask_feat_head{nullptr};
  SOLOv2Head head{nullptr};

 private:
  SOLOv2Options options_;
};

// Inference for one image from its head outputs (the reference's get_seg_single), exposed for tests.
// cate_probs: per level [C, S, S] after sigmoid and points NMS; kernels: per level [E, S, S];
// mask_features [E, h, w]; image_size (h, w) inside the padding; original_size (h, w) of the file.
[[nodiscard]] Instances solov2_predict_single(const std::vector<torch::Tensor>& cate_probs,
                                              const std::vector<torch::Tensor>& kernels,
                                              const torch::Tensor& mask_features, const std::vector<int>& strides,
                                              std::array<int, 2> image_size, std::array<int, 2> original_size,
                                              const SOLOv2TestOptions& options);

// The reference's points_nms: keep a score only where it is the maximum of its 2x2 window
// (max_pool2d kernel 2, stride 1, padding 1, top-left aligned). [B, C, S, S] -> same.
[[nodiscard]] torch::Tensor solov2_points_nms(const torch::Tensor& heat);

}  // namespace studio
