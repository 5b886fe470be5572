#pragma once
// The trainer's periodic evaluation (detectron2's inference_on_dataset + DatasetEvaluator): the
// model predicts the validation set (data-parallel: each rank its share, gathered on rank 0),
// rank 0 writes eval/results_<k>.json, scores it, writes eval/metrics_<k>.json, logs the summary
// and writes an eval event, and every rank receives the scores (so all take the same best.pt
// decision). The metric is chosen by the validation set's format (eval_metric_for):
//   COCO, TXT, generated: COCO bbox, and segm when the model predicts masks (a box-only model's
//                         results have no segmentation), the 12 numbers of each
//                         event {"segm": {"AP": .., ...12}, "bbox": {...12}}
//   Pascal VOC:           VOC mAP at IoU 0.5 (area under the precision envelope, the rule
//                         `studio-cli eval` uses by default)   event {"voc": {"mAP": ..}}
//   train.eval_metric voc07 (SSD recipes): VOC07 11-point mAP, the same event; the metrics file
//                         names the rule (voc.method).
// The scores are computed from the written results file's text with loadRes' rules, so they equal
// what `studio-cli eval` gives on results_<k>.json.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/data_loader.h"
#include "engine/distributed.h"
#include "engine/events.h"
#include "engine/inference.h"
#include "eval/metrics_file.h"
#include "modeling/detector.h"

namespace studio {

// Voc: the area under the precision envelope (VOC2010+); Voc07: VOC2007's 11-point AP (SSD's
// papers and pytorch-ssd report it).
enum class EvalMetric { Coco, Voc, Voc07 };
// train.eval_metric: auto (by the validation set's format, as below), coco, voc or voc07 (any
// dataset with boxes can be scored by VOC's rules: TXT lists, COCO files).
enum class EvalMetricSetting { Auto, Coco, Voc, Voc07 };
[[nodiscard]] EvalMetric eval_metric_for(const Dataset& val, EvalMetricSetting setting = EvalMetricSetting::Auto);

// One evaluation's scores, the same on every rank.
struct EvalSummary {
  int epoch = 0;
  std::array<double, 12> segm{}, bbox{};  // COCO's 12 numbers (pycocotools' summarize order)
  bool has_segm = false;                  // the model predicted masks (COCO metric)
  bool has_voc = false;                   // a VOC validation set: voc_map instead of segm/bbox
  double voc_map = 0;
  std::string results_path, metrics_path;

  // The number best.pt follows: VOC mAP, else segm AP, else box AP.
  [[nodiscard]] double key_metric() const { return has_voc ? voc_map : has_segm ? segm[0] : bbox[0]; }
};

struct EvaluatorOptions {
  std::shared_ptr<const Dataset> val;         // required
  std::vector<Category> categories;           // the model's classes (label i is categories[i])
  EvalMetricSetting metric = EvalMetricSetting::Auto;  // train.eval_metric
  InputOptions input;                         // data.test_input
  InferenceOptions inference;                 // batch size, workers, device, this rank's share
  RunMeta meta;                               // of the metrics files (images_per_s is given per call)
  const std::atomic<bool>* cancel = nullptr;  // stops inference (throws Cancelled)
};

class Evaluator {
 public:
  // `log` is the run's (disabled on ranks other than 0); `dist` is null for a single process.
  // Without options.val: studio::Error.
  Evaluator(EvaluatorOptions options, RunLog& log, DistContext* dist);

  // Evaluates `model` after `epoch` epochs (`iter` iterations), writing results_<epoch>.json,
  // metrics_<epoch>.json and the eval event; `images_per_s` is the run's training throughput so
  // far (metrics meta, -1 unknown). A collective on data-parallel runs: every rank calls it.
  EvalSummary evaluate(Detector& model, int epoch, std::int64_t iter, double images_per_s);

  [[nodiscard]] EvalMetric metric() const { return metric_; }

 private:
  EvaluatorOptions options_;
  RunLog& log_;
  DistContext* dist_;
  EvalMetric metric_ = EvalMetric::Coco;
};

}  // namespace studio
