#include "engine/evaluator.h"

#include <algorithm>
#include <utility>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/progress.h"
#include "common/run_folder.h"
#include "eval/coco_eval.h"
#include "eval/coco_results.h"
#include "eval/voc_eval.h"

namespace studio {

namespace {

// Rank r's results JSON arrays joined into one array (each is "[...]" as to_coco_results_json writes).
std::string join_json_arrays(const std::vector<std::string>& parts) {
  std::string out = "[";
  bool first = true;
  for (const auto& p : parts) {
    const auto open = p.find('['), close = p.rfind(']');
    if (open == std::string::npos || close == std::string::npos || close <= open) continue;
    const std::string body = p.substr(open + 1, close - open - 1);
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    if (!first) out += ",";
    out += body;
    first = false;
  }
  return out + "]";
}

// COCO bbox, and segm when the results have masks: the 12 numbers of each into the summary, the
// event and the metrics file, pycocotools' summary into the log.
void score_coco(const Dataset& val, const std::string& json, const std::string& results_path, bool has_masks,
                const Progress& progress, EvalSummary& s, Event& e, MetricsFile& metrics, RunLog& log) {
  for (const IouType type : {IouType::Segm, IouType::Bbox}) {
    if (type == IouType::Segm && !has_masks) continue;
    const std::vector<Detection> parsed = parse_coco_results(json, results_path, val, type);
    const CocoEvalResult result = evaluate_coco(val, parsed, type, {}, progress, 0);
    std::vector<std::pair<std::string, double>> numbers;
    for (std::size_t i = 0; i < 12; ++i) numbers.emplace_back(summary_names()[i], result.stats[i]);
    e.groups.emplace_back(iou_type_name(type), numbers);
    (type == IouType::Segm ? s.segm : s.bbox) = result.stats;
    if (type == IouType::Segm) s.has_segm = true;
    (type == IouType::Segm ? metrics.segm : metrics.bbox) = make_coco_metrics(result, val, parsed);
    log.log(std::string(iou_type_name(type)) + " epoch " + std::to_string(s.epoch) + ":\n" +
            format_summary(result));
  }
}

// Pascal VOC mAP of the boxes (the devkit's rules; area under the envelope or VOC07's 11 points).
void score_voc(const Dataset& val, const std::string& json, const std::string& results_path, VocApMethod method,
               EvalSummary& s, Event& e, MetricsFile& metrics, RunLog& log) {
  const std::vector<Detection> parsed = parse_coco_results(json, results_path, val, IouType::Bbox);
  VocEvalResult result = evaluate_voc(val, parsed, method);
  e.groups.emplace_back("voc", std::vector<std::pair<std::string, double>>{{"mAP", result.map}});
  s.has_voc = true;
  s.voc_map = result.map;
  log.log("voc epoch " + std::to_string(s.epoch) + ":\n" + format_voc(result));
  metrics.voc = std::move(result);
}

// [has_segm, segm x 12, bbox x 12, has_voc, voc_map]: what rank 0 broadcasts.
constexpr std::int64_t kSummaryValues = 27;

torch::Tensor summary_to_tensor(const EvalSummary& s) {
  torch::Tensor t = torch::zeros({kSummaryValues}, torch::kDouble);
  auto a = t.accessor<double, 1>();
  a[0] = s.has_segm ? 1 : 0;
  for (int i = 0; i < 12; ++i) {
    a[1 + i] = s.segm[static_cast<std::size_t>(i)];
    a[13 + i] = s.bbox[static_cast<std::size_t>(i)];
  }
  a[25] = s.has_voc ? 1 : 0;
  a[26] = s.voc_map;
  return t;
}

void summary_from_tensor(const torch::Tensor& t, EvalSummary& s) {
  auto a = t.accessor<double, 1>();
  s.has_segm = a[0] > 0;
  for (int i = 0; i < 12; ++i) {
    s.segm[static_cast<std::size_t>(i)] = a[1 + i];
    s.bbox[static_cast<std::size_t>(i)] = a[13 + i];
  }
  s.has_voc = a[25] > 0;
  s.voc_map = a[26];
}

}  // namespace

EvalMetric eval_metric_for(const Dataset& val, EvalMetricSetting setting) {
  switch (setting) {
    case EvalMetricSetting::Coco: return EvalMetric::Coco;
    case EvalMetricSetting::Voc: return EvalMetric::Voc;
    case EvalMetricSetting::Voc07: return EvalMetric::Voc07;
    case EvalMetricSetting::Auto: break;
  }
  return val.format == DatasetFormat::Voc ? EvalMetric::Voc : EvalMetric::Coco;
}

Evaluator::Evaluator(EvaluatorOptions options, RunLog& log, DistContext* dist)
    : options_(std::move(options)), log_(log), dist_(dist) {
  if (!options_.val) throw Error("no validation set to evaluate on (data.val or --val-data)");
  metric_ = eval_metric_for(*options_.val, options_.metric);
}

EvalSummary Evaluator::evaluate(Detector& model, int epoch, std::int64_t iter, double images_per_s) {
  const Dataset& val = *options_.val;
  const int world_size = options_.inference.world_size;
  const bool main = options_.inference.rank == 0;
  EvalSummary s;
  s.epoch = epoch;
  log_.log("evaluating on " + val.source + " (" + std::to_string(val.images.size()) + " images" +
           (world_size > 1 ? ", split over " + std::to_string(world_size) + " processes" : "") + ")");
  {
    Event begin;  // the GUI shows the evaluation as it runs (the train events stop meanwhile)
    begin.type = event_type::kEvalStart;
    begin.epoch = epoch;
    begin.iter = iter;
    begin.numbers = {{"images", static_cast<double>(val.images.size())}};
    log_.event(begin);
  }
  Progress progress;
  progress.cancel = options_.cancel;
  const std::vector<Detection> dets =
      run_inference(model, options_.val, options_.categories, options_.input, options_.inference, progress);
  s.results_path = log_.folder().results(epoch);
  s.metrics_path = log_.folder().metrics(epoch);
  std::string json = to_coco_results_json(dets);
  double with_masks = static_cast<double>(
      std::count_if(dets.begin(), dets.end(), [](const Detection& d) { return d.segm.has_value(); }));
  double total = static_cast<double>(dets.size());
  if (dist_) {
    // Each rank predicted its share of the images; rank 0 scores the union.
    const std::vector<std::string> parts = dist_->all_gather_bytes(json);
    if (main) json = join_json_arrays(parts);
    with_masks = dist_->all_reduce_sum(with_masks);
    total = dist_->all_reduce_sum(total);
  }
  const bool has_masks = with_masks > 0 || total == 0;

  // Rank 0 scores and writes; the scores are then broadcast so every rank takes the same best.pt
  // decision.
  torch::Tensor summary = torch::zeros({kSummaryValues}, torch::kDouble);
  if (main) {
    const DistContext::SoloScope alone(dist_);  // the others wait in the broadcast below
    write_file_atomic(s.results_path, json);
    MetricsFile metrics;
    metrics.meta = options_.meta;
    metrics.meta.images_per_s = images_per_s;
    Event e;
    e.type = event_type::kEval;
    e.epoch = epoch;
    e.iter = iter;
    if (metric_ != EvalMetric::Coco)
      score_voc(val, json, s.results_path, metric_ == EvalMetric::Voc07 ? VocApMethod::Points11 : VocApMethod::Area,
                s, e, metrics, log_);
    else
      score_coco(val, json, s.results_path, has_masks, progress, s, e, metrics, log_);
    write_file_atomic(s.metrics_path, metrics_to_json(metrics));
    log_.event(e);
    summary = summary_to_tensor(s);
  }
  if (dist_) {
    std::vector<torch::Tensor> t{summary};
    dist_->broadcast(t, 0);
    summary_from_tensor(t[0], s);
  }
  return s;
}

}  // namespace studio
