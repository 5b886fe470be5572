#pragma once
// COCO evaluation with pycocotools' semantics (COCOeval.evaluate / accumulate / summarize), so the
// 12 summary numbers agree with it to within 1e-9 on any input. Multi-threaded over
// (image, category) pairs; the result does not depend on the thread count.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"
#include "eval/coco_results.h"

namespace studio {

struct CocoEvalParams {
  std::vector<double> iou_thrs;  // 0.50:0.05:0.95 (computed as numpy.linspace does)
  std::vector<double> rec_thrs;  // 0:0.01:1 (101 values, as numpy.linspace)
  std::vector<int> max_dets{1, 10, 100};
  // all, small, medium, large: [lo, hi] on area, as pycocotools: [0,1e10], [0,32^2], [32^2,96^2], [96^2,1e10]
  std::vector<std::array<double, 2>> area_ranges;
  std::vector<std::string> area_names{"all", "small", "medium", "large"};
  bool use_cats = true;
  CocoEvalParams();
};

struct CocoEvalResult {
  IouType type = IouType::Bbox;
  CocoEvalParams params;
  std::vector<std::int64_t> cat_ids;  // sorted, as pycocotools (K entries)
  // precision[T][R][K][A][M], scores the same shape, recall[T][K][A][M]; -1 where undefined.
  std::vector<double> precision, scores, recall;
  std::array<double, 12> stats{};  // AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl

  [[nodiscard]] std::size_t T() const { return params.iou_thrs.size(); }
  [[nodiscard]] std::size_t R() const { return params.rec_thrs.size(); }
  [[nodiscard]] std::size_t K() const { return cat_ids.size(); }
  [[nodiscard]] std::size_t A() const { return params.area_ranges.size(); }
  [[nodiscard]] std::size_t M() const { return params.max_dets.size(); }
  [[nodiscard]] double precision_at(std::size_t t, std::size_t r, std::size_t k, std::size_t a, std::size_t m) const {
    return precision[(((t * R() + r) * K() + k) * A() + a) * M() + m];
  }
  [[nodiscard]] double recall_at(std::size_t t, std::size_t k, std::size_t a, std::size_t m) const {
    return recall[((t * K() + k) * A() + a) * M() + m];
  }
};

// threads: 0 = all cores. Progress: ("evaluating", pairs done / total), then ("accumulating").
[[nodiscard]] CocoEvalResult evaluate_coco(const Dataset& gt, const std::vector<Detection>& dt, IouType type,
                                           const CocoEvalParams& params = {}, const Progress& progress = {},
                                           int threads = 0);

// The 12 lines pycocotools' summarize() prints, byte for byte (" Average Precision  (AP) @[ ...").
[[nodiscard]] std::string format_summary(const CocoEvalResult& result);
// Names of the 12 numbers: "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl".
[[nodiscard]] const std::array<const char*, 12>& summary_names();

}  // namespace studio
