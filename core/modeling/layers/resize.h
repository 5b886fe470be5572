#pragma once
// Bilinear resizing of feature maps (align_corners false, as F.interpolate in the references).
// Under CPU autocast the features arrive in bfloat16, and LibTorch 1.13's CPU bilinear kernels
// are 4-7x slower in bfloat16 than in float, forward and backward (a [16, 64, 16, 16] map to 32 x
// 32: 15.2 ms against 2.2 ms): these resize reduced-precision CPU tensors in float and return
// the input's dtype. Other tensors are resized as they are.
#include <array>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace studio {

// [B, C, H, W] -> [B, C, h, w].
[[nodiscard]] torch::Tensor resize_bilinear(const torch::Tensor& x, int64_t h, int64_t w);

// [B, C, H, W] -> [B, C, floor(H * factor), floor(W * factor)], sampling as
// F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False) does (the factor,
// not the rounded size, sets the sampling positions).
[[nodiscard]] torch::Tensor scale_bilinear(const torch::Tensor& x, double factor);

// Each image of `images` [B, 3, H, W] (its valid part: sizes[b] = (h, w), or the whole tensor where
// `sizes` has no entry) resized bilinearly (align_corners false) to size x size, as a float batch;
// the batch as float when every image is that square already. The SSDs' fixed input.
[[nodiscard]] torch::Tensor resize_images_to_square(const torch::Tensor& images,
                                                    const std::vector<std::array<int, 2>>& sizes, int64_t size);

}  // namespace studio
