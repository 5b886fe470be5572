#include "modeling/ops/balanced_sampler/balanced_sampler.h"

#include <algorithm>

#include "common/error.h"

namespace studio {

BalancedPositiveNegativeSampler::BalancedPositiveNegativeSampler(int64_t batch_size_per_image,
                                                                 double positive_fraction)
    : batch_size_per_image_(batch_size_per_image), positive_fraction_(positive_fraction) {
  if (batch_size_per_image_ <= 0)
    throw Error("BalancedPositiveNegativeSampler: batch_size_per_image must be > 0");
  if (positive_fraction_ < 0 || positive_fraction_ > 1)
    throw Error("BalancedPositiveNegativeSampler: positive_fraction must be in [0, 1]");
}

SampledMasks BalancedPositiveNegativeSampler::sample(const torch::Tensor& labels) const {
  if (!labels.defined() || labels.dim() != 1)
    throw Error("BalancedPositiveNegativeSampler: expected labels [N]");
  torch::Tensor positive = torch::where(labels >= 1)[0];
  torch::Tensor negative = torch::where(labels == 0)[0];

  // Python's int() of the product truncates toward zero, as the cast does.
  const int64_t wanted_pos =
      static_cast<int64_t>(static_cast<double>(batch_size_per_image_) * positive_fraction_);
  const int64_t num_pos = std::min(positive.numel(), wanted_pos);
  const int64_t num_neg = std::min(negative.numel(), batch_size_per_image_ - num_pos);

  // The two permutations, drawn in torchvision's order from the default generator.
  const auto index_options = torch::TensorOptions(torch::kLong).device(labels.device());
  torch::Tensor perm1 = torch::randperm(positive.numel(), index_options).slice(0, 0, num_pos);
  torch::Tensor perm2 = torch::randperm(negative.numel(), index_options).slice(0, 0, num_neg);

  SampledMasks out;
  out.positive = torch::zeros_like(labels, labels.options().dtype(torch::kByte));
  out.negative = torch::zeros_like(labels, labels.options().dtype(torch::kByte));
  out.positive.index_put_({positive.index({perm1})}, 1);
  out.negative.index_put_({negative.index({perm2})}, 1);
  return out;
}

std::vector<SampledMasks> BalancedPositiveNegativeSampler::operator()(
    const std::vector<torch::Tensor>& labels) const {
  std::vector<SampledMasks> out;
  out.reserve(labels.size());
  for (const auto& l : labels) out.push_back(sample(l));
  return out;
}

}  // namespace studio
