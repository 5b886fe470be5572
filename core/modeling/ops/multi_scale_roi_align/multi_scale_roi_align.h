#pragma once
// RoIAlign over an FPN, torchvision 0.14's MultiScaleRoIAlign (ops/poolers.py): each box is pooled
// from one level, chosen by the FPN paper's rule (eq. 1), and the results come back in input order.
//
//   level scale     = 2^round(log2(feature height / max image height))   (1/4 for P2 ... 1/32 for P5)
//   k_min, k_max    = int(-log2(scale of the first / last level))        (2 and 5 for P2-P5)
//   k(box)          = floor(k0 + log2(sqrt(area) / s0) + 1e-6), k0 = 4, s0 = 224, clamped to [k_min, k_max]
//
// The image sizes are the resized images' (h, w) before padding, as torchvision's image_shapes.
// torchvision infers the scales once, on the first batch it sees, and keeps them; here they are
// inferred on every call (the same numbers whenever the rounding to a power of 2 agrees).
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <vector>

namespace studio {

struct MultiScaleRoIAlignOptions {
  std::array<int64_t, 2> output_size{7, 7};  // 7x7 box head, 14x14 mask head
  int64_t sampling_ratio = 2;                // torchvision's Mask R-CNN; PaddleDetection: 0 (adaptive)
  bool aligned = false;                      // torchvision: false; PaddleDetection: true
  int64_t canonical_scale = 224;             // s0
  int64_t canonical_level = 4;               // k0
};

// The FPN level rule. Returns the level index relative to k_min, [K] int64 in [0, k_max - k_min].
class LevelMapper {
 public:
  LevelMapper(int64_t k_min, int64_t k_max, int64_t canonical_scale = 224, int64_t canonical_level = 4,
              double eps = 1e-6);
  // boxes per image [N_i, 4] -> [sum N_i] level indices, images concatenated in order.
  [[nodiscard]] torch::Tensor operator()(const std::vector<torch::Tensor>& boxes) const;
  [[nodiscard]] int64_t k_min() const { return k_min_; }
  [[nodiscard]] int64_t k_max() const { return k_max_; }

 private:
  int64_t k_min_, k_max_, s0_, lvl0_;
  double eps_;
};

// torchvision's _infer_scale: 2^round(log2(feature height / image height)) (round half to even,
// computed in float32 as torchvision does).
[[nodiscard]] double infer_level_scale(int64_t feature_height, int64_t image_height);

// The scales of the levels and the level mapper for these features and image sizes
// (torchvision's _setup_scales).
struct LevelScales {
  std::vector<double> scales;
  LevelMapper mapper;
};
[[nodiscard]] LevelScales setup_level_scales(const std::vector<torch::Tensor>& features,
                                             const std::vector<std::array<int64_t, 2>>& image_sizes,
                                             const MultiScaleRoIAlignOptions& options = {});

// boxes per image [N_i, 4] -> rois [sum N_i, 5] (image index, x1, y1, x2, y2), boxes' dtype.
[[nodiscard]] torch::Tensor boxes_to_rois(const std::vector<torch::Tensor>& boxes);

// features: the levels used for pooling, finest first, [B, C, H_l, W_l] (P2-P5 for Mask R-CNN);
// boxes: per image [N_i, 4] in input-image coordinates; image_sizes: per image (h, w).
// Returns [sum N_i, C, out_h, out_w], differentiable with respect to the features.
[[nodiscard]] torch::Tensor multi_scale_roi_align(const std::vector<torch::Tensor>& features,
                                                  const std::vector<torch::Tensor>& boxes,
                                                  const std::vector<std::array<int64_t, 2>>& image_sizes,
                                                  const MultiScaleRoIAlignOptions& options = {});

}  // namespace studio
