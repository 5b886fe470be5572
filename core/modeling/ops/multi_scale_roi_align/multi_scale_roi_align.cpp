#include "modeling/ops/multi_scale_roi_align/multi_scale_roi_align.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "modeling/ops/box_ops/box_ops.h"
#include "modeling/ops/roi_align/roi_align.h"

namespace studio {

LevelMapper::LevelMapper(int64_t k_min, int64_t k_max, int64_t canonical_scale, int64_t canonical_level,
                         double eps)
    : k_min_(k_min), k_max_(k_max), s0_(canonical_scale), lvl0_(canonical_level), eps_(eps) {
  if (k_min_ > k_max_)
    throw Error("LevelMapper: k_min " + std::to_string(k_min_) + " > k_max " + std::to_string(k_max_));
}

torch::Tensor LevelMapper::operator()(const std::vector<torch::Tensor>& boxes) const {
  std::vector<torch::Tensor> areas;
  for (const auto& b : boxes) areas.push_back(box_area(b));
  torch::Tensor s = torch::sqrt(torch::cat(areas));  // [K]
  // The same expression as torchvision (eps as a tensor of s's dtype, added last).
  torch::Tensor target = torch::floor(lvl0_ + torch::log2(s / s0_) + torch::tensor(eps_, s.options()));
  target = torch::clamp(target, k_min_, k_max_);
  return (target.to(torch::kLong) - k_min_).to(torch::kLong);
}

double infer_level_scale(int64_t feature_height, int64_t image_height) {
  const double approx = static_cast<double>(feature_height) / static_cast<double>(image_height);
  // torch.tensor(python float) is float32: log2 and round happen in float32.
  const double exponent = torch::tensor(approx, torch::kFloat).log2().round().item<double>();
  return std::pow(2.0, exponent);
}

LevelScales setup_level_scales(const std::vector<torch::Tensor>& features,
                               const std::vector<std::array<int64_t, 2>>& image_sizes,
                               const MultiScaleRoIAlignOptions& options) {
  if (image_sizes.empty()) throw Error("multi_scale_roi_align: no image sizes");
  if (features.empty()) throw Error("multi_scale_roi_align: no feature levels");
  int64_t max_h = 0;
  for (const auto& s : image_sizes) max_h = std::max(max_h, s[0]);
  // torchvision infers a scale per axis and keeps the height's.
  std::vector<double> scales;
  for (const auto& f : features) scales.push_back(infer_level_scale(f.size(-2), max_h));
  // -log2 in float32, then int() (truncation), as torchvision.
  auto level_of = [](double scale) {
    return static_cast<int64_t>(-torch::log2(torch::tensor(scale, torch::kFloat)).item<double>());
  };
  return {scales, LevelMapper(level_of(scales.front()), level_of(scales.back()), options.canonical_scale,
                              options.canonical_level)};
}

torch::Tensor boxes_to_rois(const std::vector<torch::Tensor>& boxes) {
  if (boxes.empty()) throw Error("boxes_to_rois: no images");
  std::vector<torch::Tensor> with_index;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const auto& b = boxes[i];
    if (b.dim() != 2 || b.size(1) != 4) throw Error("boxes_to_rois: expected boxes [N, 4] per image");
    with_index.push_back(
        torch::cat({torch::full({b.size(0), 1}, static_cast<double>(i), b.options()), b}, 1));
  }
  return torch::cat(with_index);
}

torch::Tensor multi_scale_roi_align(const std::vector<torch::Tensor>& features,
                                    const std::vector<torch::Tensor>& boxes,
                                    const std::vector<std::array<int64_t, 2>>& image_sizes,
                                    const MultiScaleRoIAlignOptions& options) {
  const LevelScales setup = setup_level_scales(features, image_sizes, options);
  torch::Tensor rois = boxes_to_rois(boxes);  // [K, 5]
  RoIAlignOptions ro;
  ro.output_size = options.output_size;
  ro.sampling_ratio = options.sampling_ratio;
  ro.aligned = options.aligned;
  if (features.size() == 1) {
    ro.spatial_scale = setup.scales[0];
    return roi_align(features[0], rois, ro);
  }
  torch::Tensor levels = setup.mapper(boxes);  // [K]
  const auto& first = features[0];
  // In the features' memory format (channels-last from the CPU backbone), as roi_align's outputs.
  torch::Tensor result =
      at::empty({rois.size(0), first.size(1), options.output_size[0], options.output_size[1]}, first.options(),
                first.suggest_memory_format())
          .zero_();
  for (size_t l = 0; l < features.size(); ++l) {
    torch::Tensor in_level = torch::where(levels == static_cast<int64_t>(l))[0];
    ro.spatial_scale = setup.scales[l];
    torch::Tensor pooled = roi_align(features[l], rois.index({in_level}), ro);
    // Scatter back to the input order (differentiable: index_put_ records the copy).
    result.index_put_({in_level}, pooled.to(result.scalar_type()));
  }
  return result;
}

}  // namespace studio
