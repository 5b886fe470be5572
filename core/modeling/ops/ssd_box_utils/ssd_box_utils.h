#pragma once
// The box arithmetic of SSD as qfgaohao's pytorch-ssd does it (vision/utils/box_utils.py,
// vision/nn/multibox_loss.py), the reference of SSD-MobileNetV2-Lite: priors in centre form
// relative to the image, the variance coder, prior assignment with best-prior forcing, hard
// negative mining, the MultiBox loss and its hard NMS. Written with the same tensor operations in
// the same order, so float32 results equal the reference's (tests/test_ssd_box_utils.cpp compares
// them with fixtures its script wrote). Where the reference has a quirk it is kept and named.
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace studio {

// One feature map's priors: a square of side `min_size`, one of side sqrt(min_size * max_size),
// and for each aspect ratio r the pair (min_size * sqrt(r), min_size / sqrt(r)) and its transpose,
// at every cell centre ((i + 0.5) * shrinkage / image_size). Sizes in input pixels.
struct SsdPriorSpec {
  int64_t feature_map_size = 0;
  double shrinkage = 0;
  double min_size = 0, max_size = 0;
  std::vector<double> aspect_ratios;
};

// The reference's mobilenetv1_ssd_config (shared by its MobileNetV1/V2/V3 SSDs) at 300x300:
// maps 19, 10, 5, 3, 2, 1; shrinkage 16, 32, 64, 100, 150, 300; sizes 60..330; ratios {2, 3}.
[[nodiscard]] std::vector<SsdPriorSpec> mobilenet_ssd_prior_specs();

// Priors [P, 4] float32 (cx, cy, w, h) relative to the image: maps in order, rows (y) then columns
// (x), 2 + 2 * ratios per cell. `clamp`: every value clamped to [0, 1], widths and heights too (the
// reference's default, which shrinks the big priors of the last maps). Computed in double and
// rounded once, as the reference builds them from Python floats.
[[nodiscard]] torch::Tensor ssd_priors(const std::vector<SsdPriorSpec>& specs, double image_size, bool clamp = true);

// Centre form (cx, cy, w, h) <-> corner form (x1, y1, x2, y2), on the last dimension.
[[nodiscard]] torch::Tensor center_to_corner(const torch::Tensor& boxes);
[[nodiscard]] torch::Tensor corner_to_center(const torch::Tensor& boxes);

// The variance coder (both in centre form; priors [P, 4] broadcast over leading dimensions):
//   encode: ((c - pc) / pwh / center_variance, log(wh / pwh) / size_variance)
//   decode: (l * center_variance * pwh + pc, exp(l * size_variance) * pwh)
// No clamp of the exponent (the reference has none).
[[nodiscard]] torch::Tensor ssd_encode(const torch::Tensor& center_boxes, const torch::Tensor& center_priors,
                                       double center_variance, double size_variance);
[[nodiscard]] torch::Tensor ssd_decode(const torch::Tensor& locations, const torch::Tensor& center_priors,
                                       double center_variance, double size_variance);

// IoU of corner boxes broadcast against each other ([..., 4] each): overlap / (area0 + area1 -
// overlap + eps), the reference's iou_of with its eps 1e-5 (so degenerate boxes give 0, not NaN).
[[nodiscard]] torch::Tensor ssd_iou(const torch::Tensor& boxes0, const torch::Tensor& boxes1, double eps = 1e-5);

// Assigns ground truth to priors (the reference's assign_priors): each prior takes its best
// ground-truth box; then each ground-truth box claims its own best prior (in ground-truth order, so
// a later box wins a prior two boxes share), whose IoU is set to 2 so it stays positive; priors
// under iou_threshold get label 0 (background). gt_boxes [G, 4] corner form, relative like the
// priors; gt_labels [G] int64 with 1.. for objects; corner_priors [P, 4].
// Returns {boxes [P, 4] corner form, labels [P] int64}. G must be at least 1.
[[nodiscard]] std::pair<torch::Tensor, torch::Tensor> ssd_assign_priors(const torch::Tensor& gt_boxes,
                                                                        const torch::Tensor& gt_labels,
                                                                        const torch::Tensor& corner_priors,
                                                                        double iou_threshold);

// The reference's MatchPrior: assign, then encode the assigned boxes against the priors.
// Returns {locations [P, 4], labels [P]}.
[[nodiscard]] std::pair<torch::Tensor, torch::Tensor> ssd_match(const torch::Tensor& gt_boxes,
                                                                const torch::Tensor& gt_labels,
                                                                const torch::Tensor& center_priors,
                                                                double iou_threshold, double center_variance,
                                                                double size_variance);

// Hard negative mining per image: keeps every positive (label > 0) and the num_pos * neg_pos_ratio
// negatives of highest `background_loss` [N, P] (an image without positives keeps none). Returns the
// mask [N, P] bool. Ties in the loss are ranked by torch's sort, as in the reference.
[[nodiscard]] torch::Tensor hard_negative_mining(const torch::Tensor& background_loss, const torch::Tensor& labels,
                                                 int64_t neg_pos_ratio);

struct MultiBoxLoss {
  torch::Tensor regression;      // smooth L1 (beta 1, summed) over positives / num_pos
  torch::Tensor classification;  // cross-entropy (summed) over the mined priors / num_pos
  int64_t num_pos = 0;           // positives of the whole batch
};

// The MultiBox loss: confidence [N, P, C] logits, locations [N, P, 4] predicted offsets, labels
// [N, P] int64, gt_locations [N, P, 4] (ssd_match's). Mining uses -log_softmax(.)[..., 0] without
// gradient. Both terms divide by the batch's positives; with none they are NaN, as in the
// reference (0 / 0): the caller decides (training skips nothing the reference would not).
[[nodiscard]] MultiBoxLoss multibox_loss(const torch::Tensor& confidence, const torch::Tensor& locations,
                                         const torch::Tensor& labels, const torch::Tensor& gt_locations,
                                         int64_t neg_pos_ratio = 3);

// The reference's hard_nms: sorts by score (descending), looks at the first candidate_size only,
// then repeatedly keeps the best and drops those with ssd_iou > iou_threshold against it (it keeps
// IoU <= threshold); top_k > 0 stops after that many. boxes [N, 4] corner form, scores [N].
// Returns the kept indices [K] int64 in the order kept.
[[nodiscard]] torch::Tensor ssd_hard_nms(const torch::Tensor& boxes, const torch::Tensor& scores,
                                         double iou_threshold, int64_t top_k = -1, int64_t candidate_size = 200);

}  // namespace studio
