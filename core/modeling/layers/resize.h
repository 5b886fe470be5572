#pragma once
// Bilinear resizing of feature maps (align_corners false, as F.interpolate in the references).
// Under CPU autocast the features arrive in bfloat16, and LibTorch 1.13's CPU bilinear kernels
// are 4-7x slower in bfloat16 than in float, forward and backward (a [16, 64, 16, 16] map to 32 x
// 32: 15.2 ms against 2.2 ms): these resize reduced-precision CPU tensors in float and return
// the input's dtype. Other tensors are resized as they are.
#include <cstdint>

#include <torch/torch.h>

namespace studio {

// [B, C, H, W] -> [B, C, h, w].
[[nodiscard]] torch::Tensor resize_bilinear(const torch::Tensor& x, int64_t h, int64_t w);

// [B, C, H, W] -> [B, C, floor(H * factor), floor(W * factor)], sampling as
// F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False) does (the factor,
// not the rounded size, sets the sampling positions).
[[nodiscard]] torch::Tensor scale_bilinear(const torch::Tensor& x, double factor);

}  // namespace studio
