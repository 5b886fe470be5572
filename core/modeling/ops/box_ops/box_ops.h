#pragma once
// Elementary operations on x1, y1, x2, y2 boxes, as torchvision.ops.boxes (0.14) computes them:
// widths are x2 - x1 (no +1: coordinates are continuous), nothing is clipped unless asked.
// Written with the same tensor operations in the same order as torchvision, so that float32
// results are bit-equal to it; they run on any device.
#include <torch/torch.h>

#include <cstdint>

namespace studio {

// boxes [N, 4] -> [N]: (x2 - x1) * (y2 - y1). Half/bfloat16 are computed in float32 and
// integer boxes in int64 (torchvision's _upcast).
[[nodiscard]] torch::Tensor box_area(const torch::Tensor& boxes);

// boxes1 [N, 4], boxes2 [M, 4] -> IoU [N, M] (float32/float64 as the boxes). Pairs with an
// empty union give NaN (0 / 0), as in torchvision.
[[nodiscard]] torch::Tensor box_iou(const torch::Tensor& boxes1, const torch::Tensor& boxes2);

// boxes [..., 4] with x clamped to [0, width] and y to [0, height] (a new tensor).
[[nodiscard]] torch::Tensor clip_boxes_to_image(const torch::Tensor& boxes, std::int64_t height,
                                                std::int64_t width);

// Indices [K] int64 (ascending) of the boxes whose width and height are both >= min_size.
[[nodiscard]] torch::Tensor remove_small_boxes(const torch::Tensor& boxes, double min_size);

}  // namespace studio
