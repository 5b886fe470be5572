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

}  // namespace studio
