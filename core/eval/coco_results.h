#pragma once
// COCO results files: a JSON array of detections
//   {"image_id": int, "category_id": int, "bbox": [x,y,w,h], "score": float}            (bbox)
//   {"image_id": int, "category_id": int, "segmentation": {"size": [h,w], "counts": str}, "score": float}
// as written by detectron2/mmdetection and read by pycocotools' loadRes.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.h"
#include "data/read_options.h"
#include "data/rle.h"

namespace studio {

enum class IouType { Bbox, Segm };
[[nodiscard]] const char* iou_type_name(IouType t);  // "bbox" / "segm"
[[nodiscard]] IouType parse_iou_type(const std::string& s);  // throws studio::Error listing the allowed

struct Detection {
  std::int64_t image_id = 0;
  std::int64_t category_id = 0;
  std::array<double, 4> bbox{0, 0, 0, 0};  // for segm results: the mask's box, as loadRes does
  std::optional<Rle> segm;
  double score = 0;
  double area = 0;  // bbox: w*h; segm: mask area (as loadRes)
};

// Reads and validates against the ground truth: unknown image ids, unknown category ids, a
// missing field for `type`, a mask whose size differs from its image, NaN scores -> studio::Error
// naming the file, the line and "[i].field". Extra fields are ignored; an empty array is valid.
[[nodiscard]] std::vector<Detection> read_coco_results(const std::string& path, const Dataset& gt, IouType type,
                                                       const ReadOptions& options = {});
[[nodiscard]] std::vector<Detection> parse_coco_results(std::string_view json, const std::string& name,
                                                        const Dataset& gt, IouType type);
// Writes detections as a results JSON (bbox always; segmentation as compressed RLE when present).
[[nodiscard]] std::string to_coco_results_json(const std::vector<Detection>& detections);

}  // namespace studio
