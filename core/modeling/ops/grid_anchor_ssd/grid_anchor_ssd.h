#pragma once
// The box arithmetic of MindSpore's SSD-ResNet50-FPN (mindspore-ai/models official/cv/SSD,
// src/anchor_generator.py and src/box_utils.py), in its conventions: boxes are (y, x) first and
// relative to the image; anchors in centre form (cy, cx, h, w).
//   anchors  GridAnchorGenerator: per level of stride `step`, base 4 * step, scales 2^(i / 2) for
//            i < scales_per_octave, aspect ratios w / h; h = s * base / sqrt(ar), w = s * base *
//            sqrt(ar); centres at i * step + step / 2; per location the order (ar0, s0), (ar0, s1),
//            (ar1, s0), ...; locations row by row; all levels concatenated; float32 as numpy does.
//   match    ssd_bboxes_encode: ground truths in sequence; each takes the anchors with IoU > the
//            threshold that it beats (strictly) the previous best of, and its own best anchor (its
//            IoU set to 2, so an earlier box that forced the same anchor keeps it). No ignore band.
//   encode   ((c - ac) / (ahw * 0.1), log(max(hw / ahw, 1e-6)) / 0.2) on matched anchors; 0 elsewhere.
//   decode   the inverse, to corners (y1, x1, y2, x2) clipped to [0, 1].
//   loss     sigmoid focal loss on a one-hot of all C + 1 columns (background's included), and
//            smooth L1 (beta 1) on the matched anchors.
//   nms      eval_utils.apply_nms: +1-pixel areas, keeps IoU <= threshold, at most max_boxes.
#include <array>
#include <cstdint>
#include <tuple>
#include <vector>

#include <torch/torch.h>

namespace studio {

struct GridAnchorOptions {
  std::array<int, 2> image_shape{640, 640};  // h, w
  std::vector<int> steps{8, 16, 32, 64, 128};
  double scale = 4.0;           // base size = scale * step
  int scales_per_octave = 2;
  std::vector<double> aspect_ratios{1.0, 2.0, 0.5};  // w / h

  [[nodiscard]] int anchors_per_location() const {
    return scales_per_octave * static_cast<int>(aspect_ratios.size());
  }
};

struct GridAnchors {
  torch::Tensor yxhw;  // [A, 4] float32 (cy, cx, h, w) relative to image_shape (51,150 for the defaults)
  torch::Tensor yxyx;  // [A, 4] float32 (y1, x1, y2, x2): c -+ 0.5 * size in pixels, then relative
};
[[nodiscard]] GridAnchors grid_anchors(const GridAnchorOptions& options);

struct GridAnchorTargets {
  torch::Tensor locations;  // [A, 4] float32 encoded offsets (0 on unmatched anchors)
  torch::Tensor labels;     // [A] int64, 0 background, else the matched box's label
  int64_t num_matched = 0;
};

// One image: gt_yxyx [N, 4] float32 (y1, x1, y2, x2) relative to the image, gt_labels [N] int64
// (1.. for objects). IoU against anchors.yxyx, offsets against anchors.yxhw. N may be 0.
[[nodiscard]] GridAnchorTargets grid_anchor_encode(const torch::Tensor& gt_yxyx, const torch::Tensor& gt_labels,
                                                   const GridAnchors& anchors, double match_threshold = 0.5,
                                                   std::array<double, 2> prior_scaling = {0.1, 0.2});

// locations [..., A, 4] against anchors_yxhw [A, 4] -> corners (y1, x1, y2, x2) relative, clipped to [0, 1].
[[nodiscard]] torch::Tensor grid_anchor_decode(const torch::Tensor& locations, const torch::Tensor& anchors_yxhw,
                                               std::array<double, 2> prior_scaling = {0.1, 0.2});

// Element-wise sigmoid focal loss (no reduction): logits and one-hot targets of the same shape.
// ce = max(x, 0) - x * t + log(1 + exp(-|x|)); p_t = t * p + (1 - t) * (1 - p);
// loss = (1 - p_t)^gamma * (t * alpha + (1 - t) * (1 - alpha)) * ce.
[[nodiscard]] torch::Tensor sigmoid_focal_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                                               double gamma = 2.0, double alpha = 0.25);

// apply_nms on boxes [N, 4] (y1, x1, y2, x2) in pixels with scores [N]: by score, highest first;
// keeps the best, drops those with IoU > threshold against it, areas with +1 pixel; stops after
// max_boxes. Returns kept indices [K] int64 in the order kept.
[[nodiscard]] torch::Tensor nms_plus_one(const torch::Tensor& boxes, const torch::Tensor& scores, double threshold,
                                         int64_t max_boxes);

}  // namespace studio
