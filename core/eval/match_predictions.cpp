#include "eval/match_predictions.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "eval/iou_runs.h"

namespace studio {

const char* false_positive_reason_name(FalsePositiveReason reason) {
  switch (reason) {
    case FalsePositiveReason::None:
      return "none";
    case FalsePositiveReason::Duplicate:
      return "duplicate";
    case FalsePositiveReason::WrongClass:
      return "wrong class";
    case FalsePositiveReason::Background:
      return "background";
  }
  return "?";
}

double ImageMatch::quality() const {
  const int denominator = 2 * true_positives + false_positives + missed_count();
  return denominator == 0 ? 1.0 : 2.0 * true_positives / denominator;
}

ImageMatcher::ImageMatcher(const Dataset& gt, std::int64_t image_id, std::vector<Detection> detections)
    : image_id_(image_id), detections_(std::move(detections)) {
  order_.resize(detections_.size());
  std::iota(order_.begin(), order_.end(), std::size_t{0});
  std::stable_sort(order_.begin(), order_.end(), [this](std::size_t a, std::size_t b) {
    return detections_[a].score > detections_[b].score;
  });

  gt_index_ = gt.annotations_of(image_id);
  const std::size_t D = detections_.size(), G = gt_index_.size();
  gt_category_.resize(G);
  gt_ignore_.resize(G);
  for (std::size_t g = 0; g < G; ++g) {
    const Annotation& a = gt.annotations[gt_index_[g]];
    gt_category_[g] = a.category_id;
    gt_ignore_[g] = a.iscrowd || a.difficult;
  }
  ious_.assign(D * G, 0.0);
  if (D == 0 || G == 0) return;

  // Masks are prepared once per object; polygons need the image size to be rasterised.
  const ImageInfo* image = gt.image_by_id(image_id);
  const auto h = static_cast<std::uint32_t>(image ? std::max(image->height, 0) : 0);
  const auto w = static_cast<std::uint32_t>(image ? std::max(image->width, 0) : 0);
  std::vector<std::optional<RunMask>> gt_masks(G);
  for (std::size_t g = 0; g < G; ++g) {
    const Annotation& a = gt.annotations[gt_index_[g]];
    if (a.rle)
      gt_masks[g] = make_run_mask(*a.rle);
    else if (!a.polygons.empty() && h > 0 && w > 0)
      gt_masks[g] = make_run_mask(rle_from_polygons(a.polygons, h, w));
  }
  std::vector<std::optional<RunMask>> dt_masks(D);
  for (std::size_t d = 0; d < D; ++d)
    if (detections_[d].segm) dt_masks[d] = make_run_mask(*detections_[d].segm);

  for (std::size_t d = 0; d < D; ++d)
    for (std::size_t g = 0; g < G; ++g) {
      const bool crowd = gt.annotations[gt_index_[g]].iscrowd;
      const auto& dm = dt_masks[d];
      const auto& gm = gt_masks[g];
      // Mask IoU only between masks of one size (a mask of another size is a broken file; its
      // box still tells something).
      ious_[d * G + g] = dm && gm && dm->h == gm->h && dm->w == gm->w
                             ? run_mask_iou(*dm, *gm, crowd)
                             : box_pair_iou(detections_[d].bbox, gt.annotations[gt_index_[g]].bbox, crowd);
    }
}

ImageMatch ImageMatcher::match(const MatchOptions& options) const {
  ImageMatch out;
  const std::size_t G = gt_index_.size();
  const auto wanted = [&](std::int64_t category) {
    return !options.category_id || *options.category_id == category;
  };
  // COCOeval visits non-ignored objects first and stops at the first ignore region once it
  // holds a match: a detection takes a crowd only when no real object fits.
  std::vector<std::size_t> gt_order;
  for (std::size_t g = 0; g < G; ++g)
    if (wanted(gt_category_[g]) && !gt_ignore_[g]) gt_order.push_back(g);
  for (std::size_t g = 0; g < G; ++g)
    if (wanted(gt_category_[g]) && gt_ignore_[g]) gt_order.push_back(g);
  std::vector<bool> taken(G, false);

  for (std::size_t d : order_) {
    const Detection& det = detections_[d];
    if (det.score < options.score_threshold || !wanted(det.category_id)) continue;
    const double* row = ious_.data() + d * G;
    // COCOeval's rule: the best IoU must reach the threshold (it starts at min(t, 1 - 1e-10)).
    double best = std::min(options.iou_threshold, 1 - 1e-10);
    std::ptrdiff_t m = -1;
    for (std::size_t g : gt_order) {
      if (gt_category_[g] != det.category_id) continue;
      if (taken[g] && !gt_ignore_[g]) continue;
      if (m >= 0 && !gt_ignore_[static_cast<std::size_t>(m)] && gt_ignore_[g]) break;
      if (row[g] < best) continue;
      best = row[g];
      m = static_cast<std::ptrdiff_t>(g);
    }
    PredictionMatch pm;
    pm.detection = d;
    if (m >= 0) {
      const auto g = static_cast<std::size_t>(m);
      taken[g] = true;
      pm.annotation = static_cast<std::int64_t>(gt_index_[g]);
      pm.iou = row[g];
      if (gt_ignore_[g]) {
        pm.outcome = MatchOutcome::Ignored;
        ++out.ignored;
      } else {
        pm.outcome = MatchOutcome::TruePositive;
        ++out.true_positives;
      }
      out.predictions.push_back(pm);
      continue;
    }
    // Why it is wrong: a second hit on an object already found is the more specific reason
    // than overlapping some object of another class. All classes count here, filter or not.
    pm.outcome = MatchOutcome::FalsePositive;
    ++out.false_positives;
    std::ptrdiff_t duplicate = -1, other = -1;
    double duplicate_iou = 0, other_iou = 0;
    for (std::size_t g = 0; g < G; ++g) {
      if (row[g] < options.iou_threshold || gt_ignore_[g]) continue;
      if (gt_category_[g] == det.category_id) {
        if (taken[g] && row[g] > duplicate_iou) {
          duplicate = static_cast<std::ptrdiff_t>(g);
          duplicate_iou = row[g];
        }
      } else if (row[g] > other_iou) {
        other = static_cast<std::ptrdiff_t>(g);
        other_iou = row[g];
      }
    }
    if (duplicate >= 0) {
      pm.reason = FalsePositiveReason::Duplicate;
      pm.annotation = static_cast<std::int64_t>(gt_index_[static_cast<std::size_t>(duplicate)]);
      pm.iou = duplicate_iou;
    } else if (other >= 0) {
      pm.reason = FalsePositiveReason::WrongClass;
      pm.annotation = static_cast<std::int64_t>(gt_index_[static_cast<std::size_t>(other)]);
      pm.iou = other_iou;
    } else {
      pm.reason = FalsePositiveReason::Background;
    }
    out.predictions.push_back(pm);
  }

  for (std::size_t g = 0; g < G; ++g)
    if (wanted(gt_category_[g]) && !gt_ignore_[g] && !taken[g]) out.missed.push_back(gt_index_[g]);
  return out;
}

std::vector<ImageMatcher> make_image_matchers(const Dataset& gt, const std::vector<Detection>& detections,
                                              const Progress& progress) {
  std::unordered_map<std::int64_t, std::vector<Detection>> by_image;
  for (const Detection& d : detections) by_image[d.image_id].push_back(d);
  std::vector<ImageMatcher> out;
  out.reserve(gt.images.size());
  const std::size_t n = gt.images.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 16 == 0) {
      progress.check_cancel();
      progress(i, n, "matching");
    }
    const std::int64_t id = gt.images[i].id;
    auto it = by_image.find(id);
    out.emplace_back(gt, id, it == by_image.end() ? std::vector<Detection>{} : std::move(it->second));
  }
  progress(n, n, "matching");
  return out;
}

}  // namespace studio
