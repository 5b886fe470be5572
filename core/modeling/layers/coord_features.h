#pragma once
// CoordConv features (SOLO): two channels, x then y, each linspace(-1, 1) over the width / height,
// so a conv can tell where on the image it is. Appended to features before position-aware convs.
#include <torch/torch.h>

namespace studio {

// [B, C, H, W] -> [B, 2, H, W] (channel 0: x in [-1, 1] along W, channel 1: y along H), x's dtype.
[[nodiscard]] torch::Tensor coord_features(const torch::Tensor& x);

// [B, C, H, W] -> [B, C + 2, H, W]: x with coord_features(x) appended.
[[nodiscard]] torch::Tensor append_coord_features(const torch::Tensor& x);

}  // namespace studio
