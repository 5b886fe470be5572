#pragma once
// Per-image matching of predictions to the ground truth for looking at them (the Inspect page):
// which detections above a score threshold are true positives, which are false positives and
// why, and which objects were missed, at one IoU threshold (0.5 by default).
//
// The rules are COCOeval's greedy matching at a single IoU threshold: detections in descending
// score order each take the unmatched ground truth of their class with the highest IoU >= the
// threshold; crowd regions (and VOC "difficult" objects) are ignore regions: a detection that
// can only match one of them is neither a true nor a false positive, and they are never missed.
// IoU is mask IoU when both sides have a mask, box IoU otherwise (crowd: over the detection's area).
//
// The IoUs between every detection and every ground-truth object of the image (all classes) are
// computed once by ImageMatcher's constructor; match() then only walks them, so a moving score
// slider or class filter re-matches a whole dataset in milliseconds.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"
#include "eval/coco_results.h"

namespace studio {

struct MatchOptions {
  double score_threshold = 0.5;  // detections with score >= this take part
  double iou_threshold = 0.5;
  // Only this category (detections and ground truth); nullopt: all categories.
  std::optional<std::int64_t> category_id;
};

enum class MatchOutcome {
  TruePositive,
  FalsePositive,
  Ignored,  // matched a crowd region or a difficult object: counts neither way (as COCOeval)
};

enum class FalsePositiveReason {
  None,        // not a false positive
  Duplicate,   // overlaps (IoU >= threshold) an object of its class already taken by a higher score
  WrongClass,  // overlaps an object of another class
  Background,  // overlaps no object enough
};

[[nodiscard]] const char* false_positive_reason_name(FalsePositiveReason reason);  // "duplicate", ...

struct PredictionMatch {
  std::size_t detection = 0;  // index into the detections given to ImageMatcher
  MatchOutcome outcome = MatchOutcome::FalsePositive;
  FalsePositiveReason reason = FalsePositiveReason::None;
  // Index into Dataset::annotations of the object involved: the one matched (TP, Ignored), the
  // one already taken (Duplicate) or the other-class one overlapped most (WrongClass); -1 none.
  std::int64_t annotation = -1;
  double iou = 0;  // with `annotation` (0 when none)
};

struct ImageMatch {
  std::vector<PredictionMatch> predictions;  // those taking part, highest score first
  std::vector<std::size_t> missed;           // Dataset::annotations indices of missed objects
  int true_positives = 0;
  int false_positives = 0;
  int ignored = 0;

  [[nodiscard]] int missed_count() const { return static_cast<int>(missed.size()); }
  // False positives plus missed objects.
  [[nodiscard]] int errors() const { return false_positives + missed_count(); }
  // F1 at the threshold: 2TP / (2TP + FP + FN); 1 for an image with nothing to find and
  // nothing found (nothing is wrong with it).
  [[nodiscard]] double quality() const;
};

class ImageMatcher {
 public:
  ImageMatcher() = default;
  // `gt` must be indexed (Dataset::index). `detections` are this image's (any order; their
  // image_id is not checked). Polygon ground truth is rasterised at the image size for mask IoU.
  ImageMatcher(const Dataset& gt, std::int64_t image_id, std::vector<Detection> detections);

  [[nodiscard]] ImageMatch match(const MatchOptions& options) const;

  [[nodiscard]] std::int64_t image_id() const { return image_id_; }
  [[nodiscard]] const std::vector<Detection>& detections() const { return detections_; }
  // Dataset::annotations indices of the image's ground truth, in dataset order.
  [[nodiscard]] const std::vector<std::size_t>& annotations() const { return gt_index_; }
  // IoU of detection d with the image's g-th ground-truth object (crowd rule included).
  [[nodiscard]] double iou(std::size_t d, std::size_t g) const { return ious_[d * gt_index_.size() + g]; }

 private:
  std::int64_t image_id_ = 0;
  std::vector<Detection> detections_;
  std::vector<std::size_t> order_;  // detections by descending score (stable)
  std::vector<std::size_t> gt_index_;
  std::vector<std::int64_t> gt_category_;
  std::vector<bool> gt_ignore_;  // crowd or difficult
  std::vector<double> ious_;     // [D x G] row-major
};

// One matcher per image of `gt`, in image order, with the detections grouped by image_id
// (detections on images not in `gt` are dropped). Progress is (images done, images, "matching");
// cancellation is checked between images (studio::Cancelled).
[[nodiscard]] std::vector<ImageMatcher> make_image_matchers(const Dataset& gt,
                                                            const std::vector<Detection>& detections,
                                                            const Progress& progress = {});

}  // namespace studio
