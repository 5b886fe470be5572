#pragma once
// Annotation checker: finds the mistakes in a dataset. Image files are decoded on all cores.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"

namespace studio {

enum class Severity { Error, Warning };

// Stable codes (they appear in JSON reports and the GUI):
//   missing_file, unreadable_image, size_mismatch, bbox_out_of_bounds, bbox_degenerate,
//   unknown_image, unknown_category, duplicate_annotation_id, duplicate_image_id, bad_polygon,
//   mask_bbox_mismatch, duplicate_annotation                                   (errors)
//   no_annotations, no_annotation_list, class_imbalance, unusual_box_size,
//   path_outside_image_folder, size_not_recorded                               (warnings)
struct Finding {
  std::string code;
  Severity severity = Severity::Error;
  std::optional<std::int64_t> image_id;
  std::optional<std::int64_t> annotation_id;
  std::string file;  // image file (or annotation file) the finding is about; may be empty
  std::string message;
  // Where the annotation (or the image's entry) is written: "list.txt:12" for a TXT list,
  // ".../Annotations/000005.xml:21" for VOC; empty when the reader records no place (COCO).
  std::string source;
};

struct CheckOptions {
  bool decode_images = true;             // open every image (missing/unreadable/size checks)
  int threads = 0;                       // 0: all cores
  double bbox_tolerance = 1.0;           // pixels a box may pass the image border
  double mask_bbox_min_iou = 0.5;        // box vs mask extent IoU below this: mask_bbox_mismatch
  double duplicate_iou = 0.9;            // same image+class, box IoU above this: duplicate_annotation
  double imbalance_ratio = 10.0;         // most / least frequent class above this: class_imbalance
  double size_outlier_log_sigma = 3.0;   // |log(sqrt area) - class mean| > k * std: unusual_box_size
};

struct CheckReport {
  std::vector<Finding> findings;
  std::size_t errors = 0;
  std::size_t warnings = 0;
  std::size_t images_checked = 0;
};

[[nodiscard]] CheckReport check_dataset(const Dataset& dataset, const CheckOptions& options = {},
                                        const Progress& progress = {});

// JSON array of {code, severity, image_id?, annotation_id?, file, message, source?}.
[[nodiscard]] std::string findings_to_json(const std::vector<Finding>& findings);
[[nodiscard]] const char* severity_name(Severity s);

}  // namespace studio
