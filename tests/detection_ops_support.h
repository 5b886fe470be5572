#pragma once
// Helpers shared by the detection ops' tests (tests/test_box_ops.cpp, tests/test_roi_align.cpp,
// tests/test_anchors_matching.cpp): random boxes, tensor-to-vector conversions, max difference.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <vector>

namespace studio::test {

using Box = std::array<double, 4>;

inline std::vector<Box> to_boxes(const torch::Tensor& t) {
  torch::Tensor d = t.to(torch::kDouble).contiguous();
  auto a = d.accessor<double, 2>();
  std::vector<Box> out(static_cast<size_t>(d.size(0)));
  for (int64_t i = 0; i < d.size(0); ++i) out[i] = {a[i][0], a[i][1], a[i][2], a[i][3]};
  return out;
}

inline std::vector<int64_t> to_ints(const torch::Tensor& t) {
  torch::Tensor l = t.to(torch::kLong).contiguous();
  return std::vector<int64_t>(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
}

// Random boxes [n, 4] with corners in [0, extent) and sides in [min_size, max_size].
inline torch::Tensor random_boxes(int64_t n, double extent, double min_size, double max_size,
                                  torch::ScalarType dtype = torch::kFloat) {
  torch::Tensor xy = torch::rand({n, 2}, torch::kDouble) * extent;
  torch::Tensor wh = min_size + torch::rand({n, 2}, torch::kDouble) * (max_size - min_size);
  return torch::cat({xy, xy + wh}, 1).to(dtype);
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace studio::test
