#include "modeling/layers/resize.h"

#include <vector>

namespace studio {
namespace {

namespace F = torch::nn::functional;

torch::Tensor bilinear(const torch::Tensor& x, F::InterpolateFuncOptions options) {
  options.mode(torch::kBilinear).align_corners(false);
  const bool slow_dtype = x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf;
  if (x.is_cpu() && slow_dtype) return F::interpolate(x.to(torch::kFloat), options).to(x.scalar_type());
  return F::interpolate(x, options);
}

}  // namespace

torch::Tensor resize_bilinear(const torch::Tensor& x, int64_t h, int64_t w) {
  return bilinear(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}));
}

torch::Tensor scale_bilinear(const torch::Tensor& x, double factor) {
  return bilinear(
      x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{factor, factor}).recompute_scale_factor(false));
}

torch::Tensor resize_images_to_square(const torch::Tensor& images, const std::vector<std::array<int, 2>>& sizes,
                                      int64_t size) {
  bool square = images.size(2) == size && images.size(3) == size;
  for (const auto& s : sizes) square = square && s[0] == size && s[1] == size;
  torch::Tensor x = images.to(torch::kFloat);
  if (square) return x;
  std::vector<torch::Tensor> resized;
  for (int64_t b = 0; b < images.size(0); ++b) {
    const auto s = b < static_cast<int64_t>(sizes.size())
                       ? sizes[static_cast<size_t>(b)]
                       : std::array<int, 2>{static_cast<int>(images.size(2)), static_cast<int>(images.size(3))};
    namespace F = torch::nn::functional;
    resized.push_back(F::interpolate(
        x[b].slice(1, 0, s[0]).slice(2, 0, s[1]).unsqueeze(0),
        F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size}).mode(torch::kBilinear).align_corners(false)));
  }
  return torch::cat(resized);
}

}  // namespace studio
