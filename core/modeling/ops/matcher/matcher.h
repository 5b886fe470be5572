#pragma once
// Assigns each prediction (anchor, proposal) to a ground-truth box, torchvision 0.14's Matcher
// (models/detection/_utils.py), from a quality matrix (IoU) [M ground truths, N predictions]:
//   best gt of prediction n = argmax over m (ATen's max(0); ties: the index ATen's CPU max returns,
//   the first one);
//   quality <  low                -> below_low_threshold (-1)
//   low <= quality < high         -> between_thresholds (-2)
//   quality >= high               -> that gt index
// With allow_low_quality_matches, every prediction whose quality equals the highest quality of
// some gt (ties included, even when that quality is low or 0) gets back its best gt (its
// argmax over all gts, which is not necessarily the gt whose maximum it attains).
// RPN: high 0.7, low 0.3, low-quality matches on. RoI heads: 0.5, 0.5, off.
#include <torch/torch.h>

namespace studio {

class Matcher {
 public:
  static constexpr int64_t below_low_threshold = -1;
  static constexpr int64_t between_thresholds = -2;

  Matcher(double high_threshold, double low_threshold, bool allow_low_quality_matches = false);

  // quality [M, N] -> matches [N] int64 in {-2, -1, 0 .. M-1}.
  // An empty matrix (no ground truth or no predictions) throws studio::Error, like torchvision's
  // ValueError: the callers handle images without ground truth before matching (all background).
  [[nodiscard]] torch::Tensor operator()(const torch::Tensor& quality) const;

  [[nodiscard]] double high_threshold() const { return high_; }
  [[nodiscard]] double low_threshold() const { return low_; }
  [[nodiscard]] bool allow_low_quality_matches() const { return allow_low_quality_; }

 private:
  double high_;
  double low_;
  bool allow_low_quality_;
};

}  // namespace studio
