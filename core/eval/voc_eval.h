#pragma once
// Pascal VOC detection mAP (the devkit's rules): per class, detections sorted by score, matched
// to the highest-IoU ground truth at IoU >= 0.5; a match with a difficult object is neither TP nor
// FP; a second detection on the same object is FP. AP by the VOC07 11-point rule or the area under
// the monotone precision envelope (VOC2010+). Boxes are COCO [x,y,w,h] continuous, which equals the
// devkit's +1 inclusive convention after the reader's conversion.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "eval/coco_results.h"

namespace studio {

enum class VocApMethod { Points11, Area };

struct VocClassAp {
  std::int64_t category_id = 0;
  std::string name;
  std::size_t gt_count = 0;  // non-difficult
  std::size_t detections = 0;
  double ap = 0;  // -1 when the class has no (non-difficult) ground truth
  std::vector<double> recall, precision;  // the raw curve (for plots)
};

struct VocEvalResult {
  VocApMethod method = VocApMethod::Area;
  double iou_threshold = 0.5;
  std::vector<VocClassAp> classes;  // dataset category order; classes without ground truth are left out of the mean
  double map = 0;
};

[[nodiscard]] VocEvalResult evaluate_voc(const Dataset& gt, const std::vector<Detection>& dt,
                                         VocApMethod method = VocApMethod::Area, double iou_threshold = 0.5);
[[nodiscard]] std::string format_voc(const VocEvalResult& result);

}  // namespace studio
