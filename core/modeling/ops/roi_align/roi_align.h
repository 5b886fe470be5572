#pragma once
// RoIAlign (He et al., Mask R-CNN), torchvision 0.14's roi_align with its CPU kernel's exact
// sampling and bilinear rules, forward and backward, as an autograd function (gradients flow to
// the features; the boxes get none, as in torchvision).
//
// For RoI k = (b, x1, y1, x2, y2) (image coordinates) and output bin (ph, pw):
//   offset = aligned ? 0.5 : 0;  start = x1 * spatial_scale - offset (likewise y, end)
//   roi size = end - start; when !aligned, at least 1 (legacy "malformed RoIs are 1x1")
//   bin = roi size / pooled size;  grid = sampling_ratio > 0 ? sampling_ratio : ceil(roi size / pooled size)
//   sample (iy, ix) at y = start_y + ph * bin_h + (iy + 0.5) * bin_h / grid_h (likewise x)
//   out = sum of the bilinear samples / max(grid_h * grid_w, 1)
// Bilinear sample at (y, x) on an H x W map: 0 when y < -1, y > H, x < -1 or x > W; else y, x
// clamped at 0 from below; y_low = int(y); when y_low >= H - 1 both rows are H - 1 (and y = H - 1),
// else y_high = y_low + 1; the same for x; weights (1-ly)(1-lx), (1-ly)lx, ly(1-lx), ly lx.
//
// One dispatch point: roi_align_forward / roi_align_backward pick the kernel; the CPU kernels are
// in roi_align.cpp (parallel over RoIs forward, over channels backward: each gradient element gets
// its contributions in torchvision's order, so results don't depend on the thread count). A
// channels-last input is read in place by kernels of its own (bit-equal to the NCHW ones) and gives
// a channels-last output and input gradient. No CUDA
// kernel yet: CUDA tensors round-trip via the CPU.
#include <torch/torch.h>

#include <array>
#include <cstdint>

namespace studio {

struct RoIAlignOptions {
  std::array<int64_t, 2> output_size{7, 7};  // (pooled_h, pooled_w)
  double spatial_scale = 1.0;                // feature size / image size, e.g. 1/4 for P2
  int64_t sampling_ratio = -1;               // > 0: fixed grid per bin; <= 0: adaptive ceil(roi / pooled)
  bool aligned = false;                      // true: pixel centres at +0.5 (Detectron2 / PaddleDetection)
};

// input [B, C, H, W] float32/float64 (half and bfloat16 are computed in float32);
// rois [K, 5] (batch index, x1, y1, x2, y2) in image coordinates -> [K, C, pooled_h, pooled_w].
// Differentiable with respect to `input`.
[[nodiscard]] torch::Tensor roi_align(const torch::Tensor& input, const torch::Tensor& rois,
                                      const RoIAlignOptions& options);

// The raw kernels, without autograd (what the autograd function calls).
[[nodiscard]] torch::Tensor roi_align_forward(const torch::Tensor& input, const torch::Tensor& rois,
                                              const RoIAlignOptions& options);
// grad_output [K, C, pooled_h, pooled_w] -> grad of the input [input_size...], channels-last in
// memory when `channels_last` (as roi_align's backward does for a channels-last input).
[[nodiscard]] torch::Tensor roi_align_backward(const torch::Tensor& grad_output, const torch::Tensor& rois,
                                               const RoIAlignOptions& options,
                                               std::array<int64_t, 4> input_size, bool channels_last = false);

}  // namespace studio
