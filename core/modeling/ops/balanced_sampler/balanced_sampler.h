#pragma once
// Draws a fixed-size, fixed-fraction set of positives and negatives per image, torchvision
// 0.14's BalancedPositiveNegativeSampler (models/detection/_utils.py).
//
// Per image, from labels [N] int64 (>= 1 positive, 0 negative, < 0 ignored; the matcher's
// output after labelling):
//   positive = where(labels >= 1), negative = where(labels == 0)
//   num_pos  = min(int(batch_size_per_image * positive_fraction), |positive|)
//   num_neg  = min(batch_size_per_image - num_pos, |negative|)
//   perm1 = randperm(|positive|)[:num_pos], then perm2 = randperm(|negative|)[:num_neg]
// with torch::randperm on the default generator, called in this order, so that after the same
// torch::manual_seed the draw equals Python torch's with the same seed.
#include <torch/torch.h>

#include <vector>

namespace studio {

struct SampledMasks {
  torch::Tensor positive;  // [N] uint8, 1 for the sampled positives
  torch::Tensor negative;  // [N] uint8, 1 for the sampled negatives
};

class BalancedPositiveNegativeSampler {
 public:
  BalancedPositiveNegativeSampler(int64_t batch_size_per_image, double positive_fraction);

  // One image. Draws from the default generator (torch::manual_seed makes it repeatable).
  [[nodiscard]] SampledMasks sample(const torch::Tensor& labels) const;

  // Several images, drawn in image order (as torchvision's __call__ over a list).
  [[nodiscard]] std::vector<SampledMasks> operator()(const std::vector<torch::Tensor>& labels) const;

  [[nodiscard]] int64_t batch_size_per_image() const { return batch_size_per_image_; }
  [[nodiscard]] double positive_fraction() const { return positive_fraction_; }

 private:
  int64_t batch_size_per_image_;
  double positive_fraction_;
};

}  // namespace studio
