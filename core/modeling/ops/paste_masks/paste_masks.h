#pragma once
// Pastes the fixed-size mask predictions of Mask R-CNN into the image, torchvision 0.14's
// paste_masks_in_image (models/detection/roi_heads.py):
//   1. pad each M x M mask by `padding` zero pixels (M + 2p square) and grow its box about the
//      centre by (M + 2p) / M, so that the mask's border pixels keep their place;
//   2. truncate the grown box to int64 (x1, y1, x2, y2) (toward zero, as Tensor.to(int64));
//   3. resize the padded mask bilinearly (align_corners false) to w = max(x2 - x1 + 1, 1),
//      h = max(y2 - y1 + 1, 1) (integer boxes: the +1 makes the last pixel inclusive);
//   4. copy the part inside the image to [y1, y2] x [x1, x2].
// Returns probabilities (the caller thresholds, e.g. at 0.5).
#include <torch/torch.h>

#include <cstdint>

namespace studio {

// masks [N, 1, M, M] (or [N, M, M]) float probabilities, boxes [N, 4] x1, y1, x2, y2 in image
// pixels -> [N, 1, height, width] in the masks' dtype, 0 outside the boxes (torchvision's shape).
// A box entirely outside the image gives an empty mask (torchvision's slicing would wrap around
// negative ends there; boxes clipped to the image, as in Mask R-CNN's post-processing, never are).
[[nodiscard]] torch::Tensor paste_masks_in_image(const torch::Tensor& masks, const torch::Tensor& boxes,
                                                 int64_t height, int64_t width, int64_t padding = 1);

}  // namespace studio
