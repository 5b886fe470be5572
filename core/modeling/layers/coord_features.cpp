#include "modeling/layers/coord_features.h"

namespace studio {

torch::Tensor coord_features(const torch::Tensor& x) {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  auto opts = x.options();
  torch::Tensor xs = torch::linspace(-1, 1, w, opts).view({1, 1, 1, w}).expand({b, 1, h, w});
  torch::Tensor ys = torch::linspace(-1, 1, h, opts).view({1, 1, h, 1}).expand({b, 1, h, w});
  return torch::cat({xs, ys}, 1);
}

torch::Tensor append_coord_features(const torch::Tensor& x) { return torch::cat({x, coord_features(x)}, 1); }

}  // namespace studio
