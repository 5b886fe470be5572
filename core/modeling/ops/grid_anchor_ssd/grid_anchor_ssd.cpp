#include "modeling/ops/grid_anchor_ssd/grid_anchor_ssd.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"

namespace studio {

GridAnchors grid_anchors(const GridAnchorOptions& o) {
  if (o.steps.empty() || o.aspect_ratios.empty() || o.scales_per_octave < 1)
    throw Error("grid anchors: expected steps, aspect ratios and scales_per_octave >= 1");
  // Every quantity in float32, in the reference's order of operations (numpy float32 arrays).
  std::vector<float> heights, widths;  // per anchor type: (ar0, s0), (ar0, s1), (ar1, s0), ...
  std::vector<float> pixel_centres, pixel_sizes, pixel_corners;
  for (double ar : o.aspect_ratios)
    for (int s = 0; s < o.scales_per_octave; ++s) {
      const auto scale = static_cast<float>(std::pow(2.0, static_cast<double>(s) / o.scales_per_octave));
      const float ratio_sqrt = std::sqrt(static_cast<float>(ar));
      heights.push_back(scale / ratio_sqrt);
      widths.push_back(scale * ratio_sqrt);
    }
  const auto ih = static_cast<float>(o.image_shape[0]), iw = static_cast<float>(o.image_shape[1]);
  std::vector<float> centres_out, corners_out;
  for (int step : o.steps) {
    if (step <= 0) throw Error("grid anchors: steps must be positive");
    const auto base = static_cast<float>(o.scale * step);
    const auto offset = static_cast<float>(step / 2.0);
    const int grid_h = static_cast<int>(std::ceil(static_cast<double>(o.image_shape[0]) / step));
    const int grid_w = static_cast<int>(std::ceil(static_cast<double>(o.image_shape[1]) / step));
    for (int y = 0; y < grid_h; ++y)
      for (int x = 0; x < grid_w; ++x) {
        const float cy = static_cast<float>(y) * static_cast<float>(step) + offset;
        const float cx = static_cast<float>(x) * static_cast<float>(step) + offset;
        for (size_t a = 0; a < heights.size(); ++a) {
          const float h = heights[a] * base, w = widths[a] * base;
          centres_out.insert(centres_out.end(), {cy / ih, cx / iw, h / ih, w / iw});
          corners_out.insert(corners_out.end(), {(cy - 0.5f * h) / ih, (cx - 0.5f * w) / iw, (cy + 0.5f * h) / ih,
                                                 (cx + 0.5f * w) / iw});
        }
      }
  }
  const auto n = static_cast<int64_t>(centres_out.size() / 4);
  GridAnchors out;
  out.yxhw = torch::from_blob(centres_out.data(), {n, 4}, torch::kFloat).clone();
  out.yxyx = torch::from_blob(corners_out.data(), {n, 4}, torch::kFloat).clone();
  return out;
}

GridAnchorTargets grid_anchor_encode(const torch::Tensor& gt_yxyx, const torch::Tensor& gt_labels,
                                     const GridAnchors& anchors, double match_threshold,
                                     std::array<double, 2> prior_scaling) {
  const torch::Tensor corners = anchors.yxyx.to(torch::kFloat);
  const int64_t num_anchors = corners.size(0);
  const auto opts = corners.options();
  const torch::Tensor y1 = corners.select(1, 0), x1 = corners.select(1, 1), y2 = corners.select(1, 2),
                      x2 = corners.select(1, 3);
  const torch::Tensor vol_anchors = (x2 - x1) * (y2 - y1);
  torch::Tensor pre_scores = torch::zeros({num_anchors}, opts);
  torch::Tensor t_boxes = torch::zeros({num_anchors, 4}, opts);
  torch::Tensor t_label = torch::zeros({num_anchors}, opts.dtype(torch::kLong));
  const torch::Tensor boxes = gt_yxyx.to(corners.device(), torch::kFloat);
  const torch::Tensor labels = gt_labels.to(corners.device(), torch::kLong);
  for (int64_t g = 0; g < boxes.size(0); ++g) {
    const torch::Tensor b = boxes[g];
    const torch::Tensor h = (torch::minimum(y2, b[2]) - torch::maximum(y1, b[0])).clamp_min(0);
    const torch::Tensor w = (torch::minimum(x2, b[3]) - torch::maximum(x1, b[1])).clamp_min(0);
    const torch::Tensor inter = h * w;
    torch::Tensor scores = inter / (vol_anchors + (b[2] - b[0]) * (b[3] - b[1]) - inter);
    scores.index_put_({scores.argmax()}, 2.0);
    const torch::Tensor mask = (scores > match_threshold).logical_and(scores > pre_scores);
    pre_scores = torch::maximum(pre_scores, scores * mask);
    t_label = torch::where(mask, labels[g], t_label);
    t_boxes = torch::where(mask.unsqueeze(1), b.unsqueeze(0), t_boxes);
  }
  GridAnchorTargets out;
  out.labels = t_label;
  out.locations = torch::zeros({num_anchors, 4}, opts);
  const torch::Tensor index = t_label.nonzero().squeeze(1);
  out.num_matched = index.size(0);
  if (out.num_matched == 0) return out;
  const torch::Tensor t = t_boxes.index_select(0, index);
  const torch::Tensor d = anchors.yxhw.to(corners.device(), torch::kFloat).index_select(0, index);
  const torch::Tensor centre = (t.slice(1, 0, 2) + t.slice(1, 2, 4)) / 2;
  const torch::Tensor size = t.slice(1, 2, 4) - t.slice(1, 0, 2);
  const torch::Tensor dc = d.slice(1, 0, 2), dhw = d.slice(1, 2, 4);
  const torch::Tensor loc_c = (centre - dc) / (dhw * static_cast<float>(prior_scaling[0]));
  const torch::Tensor loc_s = torch::log(torch::clamp_min(size / dhw, 1e-6f)) / static_cast<float>(prior_scaling[1]);
  out.locations.index_copy_(0, index, torch::cat({loc_c, loc_s}, 1));
  return out;
}

torch::Tensor grid_anchor_decode(const torch::Tensor& locations, const torch::Tensor& anchors_yxhw,
                                 std::array<double, 2> prior_scaling) {
  const torch::Tensor d = anchors_yxhw.to(locations.device(), locations.scalar_type());
  const torch::Tensor dc = d.slice(-1, 0, 2), dhw = d.slice(-1, 2, 4);
  const torch::Tensor c = locations.slice(-1, 0, 2) * prior_scaling[0] * dhw + dc;
  const torch::Tensor s = torch::exp(locations.slice(-1, 2, 4) * prior_scaling[1]) * dhw;
  return torch::cat({c - s / 2.0, c + s / 2.0}, -1).clamp(0, 1);
}

torch::Tensor sigmoid_focal_loss(const torch::Tensor& logits, const torch::Tensor& targets, double gamma,
                                 double alpha) {
  const torch::Tensor t = targets.to(logits.scalar_type());
  const torch::Tensor ce = logits.clamp_min(0) - logits * t + torch::log1p(torch::exp(-logits.abs()));
  const torch::Tensor p = torch::sigmoid(logits);
  const torch::Tensor p_t = t * p + (1 - t) * (1 - p);
  const torch::Tensor modulating = gamma == 2.0 ? (1 - p_t) * (1 - p_t) : torch::pow(1 - p_t, gamma);
  return modulating * (t * alpha + (1 - t) * (1 - alpha)) * ce;
}

torch::Tensor nms_plus_one(const torch::Tensor& boxes, const torch::Tensor& scores, double threshold,
                           int64_t max_boxes) {
  const torch::Tensor b = boxes.to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t n = b.size(0);
  const torch::Tensor order = std::get<1>(scores.to(torch::kCPU).sort(/*stable=*/true, 0, /*descending=*/true));
  const auto ord = order.accessor<int64_t, 1>();
  const auto a = b.accessor<float, 2>();
  std::vector<float> areas(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) areas[static_cast<size_t>(i)] = (a[i][3] - a[i][1] + 1) * (a[i][2] - a[i][0] + 1);
  std::vector<char> removed(static_cast<size_t>(n), 0);
  std::vector<int64_t> keep;
  const auto thr = static_cast<float>(threshold);
  for (int64_t oi = 0; oi < n; ++oi) {
    const int64_t i = ord[oi];
    if (removed[static_cast<size_t>(i)]) continue;
    keep.push_back(i);
    if (static_cast<int64_t>(keep.size()) >= max_boxes) break;
    for (int64_t oj = oi + 1; oj < n; ++oj) {
      const int64_t j = ord[oj];
      if (removed[static_cast<size_t>(j)]) continue;
      const float w = std::max(0.0f, std::min(a[i][3], a[j][3]) - std::max(a[i][1], a[j][1]) + 1);
      const float h = std::max(0.0f, std::min(a[i][2], a[j][2]) - std::max(a[i][0], a[j][0]) + 1);
      const float inter = w * h;
      if (inter / (areas[static_cast<size_t>(i)] + areas[static_cast<size_t>(j)] - inter) > thr)
        removed[static_cast<size_t>(j)] = 1;
    }
  }
  return torch::tensor(keep, torch::kLong).to(boxes.device());
}

}  // namespace studio
