#pragma once
// The metrics JSON that `studio-cli eval --json` and the trainer (runs/<name>/eval/metrics_<k>.json)
// write, and result tables across runs (`studio-cli export-table`, the Results page).
//
// {"meta": {"model", "dataset", "devices", "epochs", "images_per_s", "iteration"},
//  "bbox"|"segm": {"stats": {"AP": .., ...12}, "per_category": [...], "pr_curves": [...],
//                  "confusion": {"names": [...], "counts": [[...]]}},
//  "voc": {"method", "map", "classes": [{"name", "ap", ...}]}}
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "eval/coco_eval.h"
#include "eval/eval_reports.h"
#include "eval/voc_eval.h"

namespace studio {

struct RunMeta {
  std::string model, dataset;
  int devices = 0, epochs = 0;
  double images_per_s = -1;  // -1: unknown
};

struct CocoMetrics {
  std::array<double, 12> stats{};
  std::vector<CategoryRow> per_category;
  std::vector<PrCurve> pr_curves;
  std::optional<ConfusionMatrix> confusion;
};

struct MetricsFile {
  RunMeta meta;
  std::optional<CocoMetrics> bbox, segm;
  std::optional<VocEvalResult> voc;
  std::string source;  // the file it was read from
};

[[nodiscard]] CocoMetrics make_coco_metrics(const CocoEvalResult& result, const Dataset& gt,
                                            const std::vector<Detection>& dt);
[[nodiscard]] std::string metrics_to_json(const MetricsFile& metrics);
// Reads a metrics JSON, or a run folder (its eval/metrics_<k>.json with the highest k, meta filled
// from the run's config.yaml and events where present). Errors name the file and key.
[[nodiscard]] MetricsFile read_metrics(const std::string& path);

enum class TableFormat { Csv, Markdown, Latex, Json };
[[nodiscard]] TableFormat parse_table_format(const std::string& s);  // csv|md|tex|json
// One row per run: name, model, dataset, devices, epochs, images/s, box AP, mask AP, then AP50,
// AP75, APs, APm, APl of one kind for the whole table, named in their headers: "mask AP50" ..
// when any run has mask numbers (a box-only run shows "-" there), else "box AP50" ..; VOC runs
// fill mAP into box AP's column as "VOC mAP". Missing values are "-". Numbers as percentages with
// one decimal, like model zoos. (JSON keys stay ap50 .. ap_l.)
[[nodiscard]] std::string export_table(const std::vector<MetricsFile>& runs, TableFormat format);

}  // namespace studio
