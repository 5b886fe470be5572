#pragma once
// Greedy non-maximum suppression, torchvision 0.14's semantics (torchvision.ops.nms and
// batched_nms), so that a model ported from torchvision keeps the same detections.
//
// One dispatch point (STYLE.md, 6): nms() runs the CPU kernel in nms.cpp. There is no CUDA
// kernel yet: CUDA tensors are copied to the CPU and the indices copied back.
#include <torch/torch.h>

namespace studio {

// boxes [N, 4] x1, y1, x2, y2 float32/float64; scores [N] of the same dtype.
// Visits the boxes by score, highest first, keeps a box unless an already kept box overlaps it
// with IoU > iou_threshold. Returns the kept indices [K] int64, by score, highest first.
// Equal scores are visited in index order (a stable sort, as torchvision's CPU kernel), so ties
// resolve as in torchvision.
[[nodiscard]] torch::Tensor nms(const torch::Tensor& boxes, const torch::Tensor& scores,
                                double iou_threshold);

// NMS within each category: idxs [N] int64 (any integer dtype) names each box's category, and
// boxes of different categories never suppress each other. Returns kept indices [K] int64 by
// score, highest first. As torchvision: up to 1000 boxes on the CPU (4000 on CUDA) it shifts
// each category's boxes by idxs * (max coordinate + 1) and runs one nms(); above that it runs
// nms() per category and sorts the union by score with torchvision's (unstable) sort call. The
// two can differ in ties and in float rounding of the shifted coordinates, which is why the
// switch point is mirrored too.
[[nodiscard]] torch::Tensor batched_nms(const torch::Tensor& boxes, const torch::Tensor& scores,
                                        const torch::Tensor& idxs, double iou_threshold);

}  // namespace studio
