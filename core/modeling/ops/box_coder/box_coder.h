#pragma once
// The R-CNN box parametrisation, torchvision 0.14's BoxCoder (models/detection/_utils.py):
//   widths w = x2 - x1 (no +1), centres cx = x1 + 0.5 w (likewise for y, h);
//   encode: dx = wx (gx - px) / pw, dy = wy (gy - py) / ph, dw = ww log(gw / pw), dh = wh log(gh / ph);
//   decode: the inverse, with dw / ww and dh / wh clamped from above at bbox_xform_clip
//           (log(1000 / 16)) so that exp() can't overflow; x1 = cx - 0.5 w, x2 = cx + 0.5 w.
// Weights are (1, 1, 1, 1) in the RPN and (10, 10, 5, 5) in the box head. The tensor
// expressions follow torchvision's order, so float32 results are bit-equal to it, on any device.
#include <torch/torch.h>

#include <array>
#include <cmath>

namespace studio {

class BoxCoder {
 public:
  explicit BoxCoder(std::array<double, 4> weights, double bbox_xform_clip = std::log(1000.0 / 16.0));

  // reference_boxes (the targets, e.g. matched GT) [N, 4], proposals (anchors / RoIs) [N, 4]
  // -> deltas [N, 4] (dx, dy, dw, dh), in the reference boxes' dtype.
  [[nodiscard]] torch::Tensor encode(const torch::Tensor& reference_boxes,
                                     const torch::Tensor& proposals) const;

  // deltas [N, K*4] (K = 1 for the RPN, the number of classes for class-specific box heads)
  // against boxes [N, 4] -> decoded boxes [N, K*4] (torchvision's decode_single), in the deltas' dtype.
  [[nodiscard]] torch::Tensor decode_single(const torch::Tensor& deltas, const torch::Tensor& boxes) const;

  // As decode_single, shaped [N, K, 4] (torchvision's decode after concatenating the images).
  [[nodiscard]] torch::Tensor decode(const torch::Tensor& deltas, const torch::Tensor& boxes) const;

  [[nodiscard]] const std::array<double, 4>& weights() const { return weights_; }
  [[nodiscard]] double bbox_xform_clip() const { return bbox_xform_clip_; }

 private:
  std::array<double, 4> weights_;
  double bbox_xform_clip_;
};

}  // namespace studio
