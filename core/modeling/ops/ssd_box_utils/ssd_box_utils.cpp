#include "modeling/ops/ssd_box_utils/ssd_box_utils.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace studio {

std::vector<SsdPriorSpec> mobilenet_ssd_prior_specs() {
  return {{19, 16, 60, 105, {2, 3}},   {10, 32, 105, 150, {2, 3}}, {5, 64, 150, 195, {2, 3}},
          {3, 100, 195, 240, {2, 3}}, {2, 150, 240, 285, {2, 3}}, {1, 300, 285, 330, {2, 3}}};
}

torch::Tensor ssd_priors(const std::vector<SsdPriorSpec>& specs, double image_size, bool clamp) {
  if (image_size <= 0) throw Error("ssd_priors: image size must be positive");
  std::vector<double> values;
  for (const SsdPriorSpec& s : specs) {
    if (s.feature_map_size <= 0 || s.shrinkage <= 0 || s.min_size <= 0 || s.max_size <= 0)
      throw Error("ssd_priors: feature map size, shrinkage and box sizes must be positive");
    const double scale = image_size / s.shrinkage;
    const auto push = [&](double cx, double cy, double w, double h) { values.insert(values.end(), {cx, cy, w, h}); };
    for (int64_t j = 0; j < s.feature_map_size; ++j)
      for (int64_t i = 0; i < s.feature_map_size; ++i) {
        const double cx = (static_cast<double>(i) + 0.5) / scale, cy = (static_cast<double>(j) + 0.5) / scale;
        const double small = s.min_size / image_size;
        push(cx, cy, small, small);
        const double big = std::sqrt(s.max_size * s.min_size) / image_size;
        push(cx, cy, big, big);
        for (double ratio : s.aspect_ratios) {
          const double r = std::sqrt(ratio);
          push(cx, cy, small * r, small / r);
          push(cx, cy, small / r, small * r);
        }
      }
  }
  torch::Tensor priors =
      torch::tensor(values, torch::kDouble).to(torch::kFloat).view({static_cast<int64_t>(values.size() / 4), 4});
  return clamp ? priors.clamp(0.0, 1.0) : priors;
}

torch::Tensor center_to_corner(const torch::Tensor& l) {
  using torch::indexing::Ellipsis;
  using torch::indexing::Slice;
  const torch::Tensor c = l.index({Ellipsis, Slice(0, 2)}), wh = l.index({Ellipsis, Slice(2, 4)});
  return torch::cat({c - wh / 2, c + wh / 2}, l.dim() - 1);
}

torch::Tensor corner_to_center(const torch::Tensor& b) {
  using torch::indexing::Ellipsis;
  using torch::indexing::Slice;
  const torch::Tensor lt = b.index({Ellipsis, Slice(0, 2)}), rb = b.index({Ellipsis, Slice(2, 4)});
  return torch::cat({(lt + rb) / 2, rb - lt}, b.dim() - 1);
}

namespace {

torch::Tensor with_leading_dim(const torch::Tensor& priors, const torch::Tensor& like) {
  return priors.dim() + 1 == like.dim() ? priors.unsqueeze(0) : priors;
}

}  // namespace

torch::Tensor ssd_encode(const torch::Tensor& boxes, const torch::Tensor& center_priors, double center_variance,
                         double size_variance) {
  using torch::indexing::Ellipsis;
  using torch::indexing::Slice;
  const torch::Tensor p = with_leading_dim(center_priors, boxes);
  const torch::Tensor pc = p.index({Ellipsis, Slice(0, 2)}), pwh = p.index({Ellipsis, Slice(2, 4)});
  return torch::cat({(boxes.index({Ellipsis, Slice(0, 2)}) - pc) / pwh / center_variance,
                     torch::log(boxes.index({Ellipsis, Slice(2, 4)}) / pwh) / size_variance},
                    boxes.dim() - 1);
}

torch::Tensor ssd_decode(const torch::Tensor& locations, const torch::Tensor& center_priors, double center_variance,
                         double size_variance) {
  using torch::indexing::Ellipsis;
  using torch::indexing::Slice;
  const torch::Tensor p = with_leading_dim(center_priors, locations);
  const torch::Tensor pc = p.index({Ellipsis, Slice(0, 2)}), pwh = p.index({Ellipsis, Slice(2, 4)});
  return torch::cat({locations.index({Ellipsis, Slice(0, 2)}) * center_variance * pwh + pc,
                     torch::exp(locations.index({Ellipsis, Slice(2, 4)}) * size_variance) * pwh},
                    locations.dim() - 1);
}

namespace {

torch::Tensor area_of(const torch::Tensor& lt, const torch::Tensor& rb) {
  using torch::indexing::Ellipsis;
  const torch::Tensor hw = torch::clamp(rb - lt, 0.0);
  return hw.index({Ellipsis, 0}) * hw.index({Ellipsis, 1});
}

}  // namespace

torch::Tensor ssd_iou(const torch::Tensor& b0, const torch::Tensor& b1, double eps) {
  using torch::indexing::Ellipsis;
  using torch::indexing::Slice;
  const torch::Tensor lt0 = b0.index({Ellipsis, Slice(0, 2)}), rb0 = b0.index({Ellipsis, Slice(2, 4)});
  const torch::Tensor lt1 = b1.index({Ellipsis, Slice(0, 2)}), rb1 = b1.index({Ellipsis, Slice(2, 4)});
  const torch::Tensor overlap = area_of(torch::max(lt0, lt1), torch::min(rb0, rb1));
  return overlap / (area_of(lt0, rb0) + area_of(lt1, rb1) - overlap + eps);
}

std::pair<torch::Tensor, torch::Tensor> ssd_assign_priors(const torch::Tensor& gt_boxes, const torch::Tensor& gt_labels,
                                                          const torch::Tensor& corner_priors, double iou_threshold) {
  if (gt_boxes.dim() != 2 || gt_boxes.size(1) != 4 || gt_boxes.size(0) == 0)
    throw Error("ssd_assign_priors: expected ground-truth boxes [G, 4] with G >= 1");
  if (gt_labels.dim() != 1 || gt_labels.size(0) != gt_boxes.size(0))
    throw Error("ssd_assign_priors: expected one label per ground-truth box");
  const torch::Tensor ious = ssd_iou(gt_boxes.unsqueeze(0), corner_priors.unsqueeze(1));  // [P, G]
  auto [best_target, best_target_index] = ious.max(1);
  const torch::Tensor best_prior_index = std::get<1>(ious.max(0));  // [G]
  // Each box claims its best prior, in box order (a later box overwrites an earlier one's claim).
  const auto claims = best_prior_index.accessor<int64_t, 1>();
  auto owner = best_target_index.accessor<int64_t, 1>();
  for (int64_t t = 0; t < claims.size(0); ++t) owner[claims[t]] = t;
  best_target.index_fill_(0, best_prior_index, 2);
  torch::Tensor labels = gt_labels.index({best_target_index});
  labels.index_put_({best_target < iou_threshold}, 0);
  return {gt_boxes.index({best_target_index}), labels};
}

std::pair<torch::Tensor, torch::Tensor> ssd_match(const torch::Tensor& gt_boxes, const torch::Tensor& gt_labels,
                                                  const torch::Tensor& center_priors, double iou_threshold,
                                                  double center_variance, double size_variance) {
  auto [boxes, labels] = ssd_assign_priors(gt_boxes, gt_labels, center_to_corner(center_priors), iou_threshold);
  return {ssd_encode(corner_to_center(boxes), center_priors, center_variance, size_variance), labels};
}

torch::Tensor hard_negative_mining(const torch::Tensor& background_loss, const torch::Tensor& labels,
                                   int64_t neg_pos_ratio) {
  const torch::Tensor pos_mask = labels > 0;
  const torch::Tensor num_neg = pos_mask.to(torch::kLong).sum(1, /*keepdim=*/true) * neg_pos_ratio;
  torch::Tensor loss = background_loss.clone();
  loss.index_put_({pos_mask}, -std::numeric_limits<double>::infinity());
  const torch::Tensor indexes = std::get<1>(loss.sort(1, /*descending=*/true));
  const torch::Tensor orders = std::get<1>(indexes.sort(1));
  return pos_mask | (orders < num_neg);
}

MultiBoxLoss multibox_loss(const torch::Tensor& confidence, const torch::Tensor& locations, const torch::Tensor& labels,
                           const torch::Tensor& gt_locations, int64_t neg_pos_ratio) {
  if (confidence.dim() != 3 || locations.dim() != 3 || labels.dim() != 2 ||
      confidence.sizes().slice(0, 2) != labels.sizes() || locations.sizes() != gt_locations.sizes() ||
      locations.size(1) != labels.size(1))
    throw Error("multibox_loss: expected confidence [N, P, C], locations and gt_locations [N, P, 4], labels [N, P]");
  const int64_t num_classes = confidence.size(2);
  torch::Tensor mask;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor loss = -torch::log_softmax(confidence, 2).select(2, 0);
    mask = hard_negative_mining(loss, labels, neg_pos_ratio);
  }
  namespace F = torch::nn::functional;
  MultiBoxLoss out;
  const torch::Tensor mined = confidence.index({mask});
  const torch::Tensor classification = F::cross_entropy(
      mined.reshape({-1, num_classes}), labels.index({mask}), F::CrossEntropyFuncOptions().reduction(torch::kSum));
  const torch::Tensor pos_mask = labels > 0;
  const torch::Tensor predicted = locations.index({pos_mask}).reshape({-1, 4});
  const torch::Tensor target = gt_locations.index({pos_mask}).reshape({-1, 4});
  const torch::Tensor smooth_l1 =
      F::smooth_l1_loss(predicted, target, F::SmoothL1LossFuncOptions().reduction(torch::kSum));
  out.num_pos = target.size(0);
  out.regression = smooth_l1 / out.num_pos;
  out.classification = classification / out.num_pos;
  return out;
}

namespace {

template <typename T>
T area(const T* b) {
  return std::max<T>(b[2] - b[0], 0) * std::max<T>(b[3] - b[1], 0);
}

// ssd_iou of two boxes in T, in its operation order (the overlap first, then the areas).
template <typename T>
T iou_pair(const T* a, const T* b, T eps) {
  const T lt[2] = {std::max(a[0], b[0]), std::max(a[1], b[1])};
  const T rb[2] = {std::min(a[2], b[2]), std::min(a[3], b[3])};
  const T overlap = std::max<T>(rb[0] - lt[0], 0) * std::max<T>(rb[1] - lt[1], 0);
  return overlap / (area(a) + area(b) - overlap + eps);
}

template <typename T>
std::vector<int64_t> hard_nms_cpu(const torch::Tensor& boxes, const std::vector<int64_t>& order, double iou_threshold,
                                  int64_t top_k) {
  const T* b = boxes.data_ptr<T>();
  const T threshold = static_cast<T>(iou_threshold), eps = static_cast<T>(1e-5);
  std::vector<int64_t> rest = order, picked, next;
  while (!rest.empty()) {
    const int64_t current = rest.front();
    picked.push_back(current);
    if ((top_k > 0 && static_cast<int64_t>(picked.size()) == top_k) || rest.size() == 1) break;
    next.clear();
    for (size_t k = 1; k < rest.size(); ++k)
      if (iou_pair(b + rest[k] * 4, b + current * 4, eps) <= threshold) next.push_back(rest[k]);
    rest.swap(next);
  }
  return picked;
}

}  // namespace

torch::Tensor ssd_hard_nms(const torch::Tensor& boxes, const torch::Tensor& scores, double iou_threshold,
                           int64_t top_k, int64_t candidate_size) {
  if (boxes.dim() != 2 || boxes.size(1) != 4 || scores.dim() != 1 || scores.size(0) != boxes.size(0))
    throw Error("ssd_hard_nms: expected boxes [N, 4] and scores [N]");
  if (boxes.size(0) == 0) return torch::empty({0}, torch::kLong);
  // The reference's sort call (descending, not stable), then the first candidate_size.
  const torch::Tensor sorted = std::get<1>(scores.cpu().sort(-1, /*descending=*/true));
  const int64_t n = candidate_size >= 0 ? std::min(candidate_size, sorted.size(0)) : sorted.size(0);
  const torch::Tensor head = sorted.slice(0, 0, n).contiguous();
  const std::vector<int64_t> order(head.data_ptr<int64_t>(), head.data_ptr<int64_t>() + n);
  const torch::Tensor b = boxes.cpu().contiguous();
  const std::vector<int64_t> kept = b.scalar_type() == torch::kDouble
                                        ? hard_nms_cpu<double>(b, order, iou_threshold, top_k)
                                        : hard_nms_cpu<float>(b.to(torch::kFloat), order, iou_threshold, top_k);
  return torch::tensor(kept, torch::kLong).to(boxes.device());
}

}  // namespace studio
