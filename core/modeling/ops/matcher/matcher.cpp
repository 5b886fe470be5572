#include "modeling/ops/matcher/matcher.h"

#include "common/error.h"

namespace studio {

Matcher::Matcher(double high_threshold, double low_threshold, bool allow_low_quality_matches)
    : high_(high_threshold), low_(low_threshold), allow_low_quality_(allow_low_quality_matches) {
  if (low_ > high_)
    throw Error("Matcher: low threshold " + std::to_string(low_) + " is above the high threshold " +
                std::to_string(high_));
}

torch::Tensor Matcher::operator()(const torch::Tensor& quality) const {
  if (!quality.defined() || quality.dim() != 2) throw Error("Matcher: expected a quality matrix [M, N]");
  if (quality.numel() == 0) {
    if (quality.size(0) == 0)
      throw Error("Matcher: no ground-truth boxes in an image (callers handle this case)");
    throw Error("Matcher: no predicted boxes in an image");
  }
  // Best gt per prediction: values and indices [N].
  auto [matched_vals, matches] = quality.max(0);
  torch::Tensor all_matches = allow_low_quality_ ? matches.clone() : torch::Tensor();

  torch::Tensor below = matched_vals < low_;
  torch::Tensor between = (matched_vals >= low_) & (matched_vals < high_);
  matches.index_put_({below}, below_low_threshold);
  matches.index_put_({between}, between_thresholds);

  if (allow_low_quality_) {
    // Highest quality of each gt [M]; every (gt, prediction) pair reaching it, ties included.
    torch::Tensor highest = std::get<0>(quality.max(1));
    torch::Tensor pred_inds = torch::where(quality == highest.unsqueeze(1))[1];
    matches.index_put_({pred_inds}, all_matches.index({pred_inds}));
  }
  return matches;
}

}  // namespace studio
