#pragma once
// What users ask for beyond the 12 numbers: a per-category table, precision-recall curves and a
// confusion matrix at IoU 0.5 with a background row and column.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "eval/coco_eval.h"

namespace studio {

struct CategoryRow {
  std::int64_t category_id = 0;
  std::string name;
  std::size_t gt_count = 0;  // non-crowd ground truth
  double ap = -1, ap50 = -1, ap75 = -1, ap_small = -1, ap_medium = -1, ap_large = -1, ar100 = -1;  // -1: undefined
};
[[nodiscard]] std::vector<CategoryRow> per_category_table(const CocoEvalResult& result, const Dataset& gt);

struct PrCurve {
  std::int64_t category_id = 0;  // 0: mean over categories with a defined curve
  double iou = 0.5;
  std::vector<double> recall;     // the 101 recall thresholds
  std::vector<double> precision;  // interpolated precision at each (area all, maxDets 100); -1 undefined
};
// Curves at IoU 0.5 and 0.75 for each category plus the mean.
[[nodiscard]] std::vector<PrCurve> pr_curves(const CocoEvalResult& result);

// counts[(K+1) x (K+1)] row-major: row = ground-truth class, column = predicted class, in the
// dataset's category order; index K is background (row K: false positives, column K: missed).
// Matching per image: detections with score >= score_threshold, by descending score, each takes the
// unmatched non-crowd ground truth of any class with the highest IoU >= iou_threshold.
struct ConfusionMatrix {
  std::vector<std::int64_t> category_ids;
  std::vector<std::string> names;
  std::vector<std::size_t> counts;
  [[nodiscard]] std::size_t at(std::size_t row, std::size_t col) const { return counts[row * (names.size() + 1) + col]; }
};
[[nodiscard]] ConfusionMatrix confusion_matrix(const Dataset& gt, const std::vector<Detection>& dt, IouType type,
                                               double iou_threshold = 0.5, double score_threshold = 0.3);

}  // namespace studio
