#pragma once
// Anchors of the RPN, torchvision 0.14's AnchorGenerator (models/detection/anchor_utils.py).
//
// Per level l and each (aspect ratio ar = h / w, size s) pair, ratio-major:
//   h_r = sqrt(ar), w_r = 1 / h_r, ws = w_r s, hs = h_r s,
//   base anchor = round([-ws, -hs, ws, hs] / 2)          (float32, round half to even)
// (P2, s = 32: [-23,-11,23,11], [-16,-16,16,16], [-11,-23,11,23]).
// The stride of a level is padded image size // grid size, per axis (integer division: a
// 800x1088 batch gives P6 13x17 with strides 61, 64), the shifts are arange(grid) * stride
// (no half-stride offset), and the anchors of a level are ordered (y, x, anchor). The levels are
// concatenated: [sum_l H_l W_l A_l, 4]. Anchors are not clipped to the image.
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <vector>

namespace studio {

struct AnchorGeneratorOptions {
  // One entry per feature level. Mask R-CNN FPN: sizes {32}, {64}, {128}, {256}, {512} and
  // ratios {0.5, 1, 2} on every level.
  std::vector<std::vector<double>> sizes{{32}, {64}, {128}, {256}, {512}};
  std::vector<std::vector<double>> aspect_ratios{
      {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}};
};

class AnchorGenerator {
 public:
  explicit AnchorGenerator(AnchorGeneratorOptions options = {});

  // The zero-centred, rounded base anchors of each level, [A_l, 4] float32.
  [[nodiscard]] const std::vector<torch::Tensor>& cell_anchors() const { return cell_anchors_; }
  // A_l = |sizes_l| * |aspect_ratios_l| per level (what the RPN head predicts per location).
  [[nodiscard]] std::vector<int64_t> num_anchors_per_location() const;

  // The anchors of one image of the batch, [sum_l H_l W_l A_l, 4] in `options` (dtype, device).
  // image_size: the padded batch (H, W); grid_sizes: (H_l, W_l) per level.
  [[nodiscard]] torch::Tensor anchors(std::array<int64_t, 2> image_size,
                                      const std::vector<std::array<int64_t, 2>>& grid_sizes,
                                      const torch::TensorOptions& options = {}) const;

  // torchvision's forward: images [B, C, H, W] (the padded batch) and the feature maps
  // [B, C_l, H_l, W_l] -> B copies of the anchors (the same tensor for every image), in the
  // features' dtype and device.
  [[nodiscard]] std::vector<torch::Tensor> forward(const torch::Tensor& images,
                                                   const std::vector<torch::Tensor>& features) const;

 private:
  AnchorGeneratorOptions options_;
  std::vector<torch::Tensor> cell_anchors_;
};

// torchvision's generate_anchors for one level, [|ratios| * |sizes|, 4] float32.
[[nodiscard]] torch::Tensor generate_cell_anchors(const std::vector<double>& sizes,
                                                  const std::vector<double>& aspect_ratios);

}  // namespace studio
