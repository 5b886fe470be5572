// studio-cli eval --gt ann.json --dt results.json [--type bbox|segm] [--json metrics.json]:
// COCO evaluation printed as pycocotools prints it, plus a per-category table. With a VOC ground
// truth (or --metric voc) the Pascal VOC mAP instead. Exit 0 on success, 2 on unusable input.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/dataset_options.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "data/coco_io.h"
#include "eval/coco_eval.h"
#include "eval/metrics_file.h"

namespace studio::cli {
namespace {

struct EvalOptions {
  DatasetOptions dataset;
  std::string gt, dt, type = "bbox", json, metric, voc_method = "area";
  int threads = 0;
  CLI::App* sub = nullptr;

  [[nodiscard]] bool given(const std::string& name) const { return sub->get_option(name)->count() > 0; }
};

std::string format_category_table(const std::vector<CategoryRow>& rows) {
  std::size_t width = 8;
  for (const auto& r : rows) width = std::max(width, r.name.size());
  auto cell = [](double v) {
    char buf[16];
    if (v < 0)
      std::snprintf(buf, sizeof buf, "%7s", "-");
    else
      std::snprintf(buf, sizeof buf, "%7.3f", v);
    return std::string(buf);
  };
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-*s %7s %7s %7s %7s %7s %7s %7s %7s\n", static_cast<int>(width),
                "category", "gt", "AP", "AP50", "AP75", "APs", "APm", "APl", "AR100");
  out += line;
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%-*s %7zu ", static_cast<int>(width), r.name.c_str(), r.gt_count);
    out += line;
    out += cell(r.ap) + " " + cell(r.ap50) + " " + cell(r.ap75) + " " + cell(r.ap_small) + " " +
           cell(r.ap_medium) + " " + cell(r.ap_large) + " " + cell(r.ar100) + "\n";
  }
  return out;
}

int run_eval(const EvalOptions& o) {
  Dataset gt;
  std::string dataset_name;
  if (!o.gt.empty()) {
    for (const char* name : {"dataset", "--coco", "--voc", "--txt"})
      if (o.given(name)) throw Error("give the ground truth once: --gt FILE or a dataset, not both");
    gt = read_coco(o.gt, "", terminal_progress());
    dataset_name = o.gt;
  } else {
    dataset_name = o.dataset.spec().describe();
    gt = o.dataset.load();
  }
  gt.index();

  // An explicit --voc-method asks for VOC mAP as clearly as --metric voc does.
  const bool voc =
      o.metric.empty() ? gt.format == DatasetFormat::Voc || o.given("--voc-method") : o.metric == "voc";
  MetricsFile metrics;
  metrics.meta.dataset = dataset_name;
  metrics.source = o.json;
  if (voc) {
    if (o.type != "bbox") throw Error("VOC mAP is a box metric: use --type bbox (or --metric coco)");
    const auto dt = read_coco_results(o.dt, gt, IouType::Bbox);
    const VocEvalResult result =
        evaluate_voc(gt, dt, o.voc_method == "11point" ? VocApMethod::Points11 : VocApMethod::Area);
    std::cout << format_voc(result);
    metrics.voc = result;
  } else {
    const IouType type = parse_iou_type(o.type);
    const auto dt = read_coco_results(o.dt, gt, type);
    const CocoEvalResult result = evaluate_coco(gt, dt, type, {}, terminal_progress(), o.threads);
    std::cout << format_summary(result);
    CocoMetrics m = make_coco_metrics(result, gt, dt);
    std::cout << "\nper category (" << iou_type_name(type) << "):\n" << format_category_table(m.per_category);
    (type == IouType::Bbox ? metrics.bbox : metrics.segm) = std::move(m);
  }
  if (!o.json.empty()) {
    write_file_atomic(o.json, metrics_to_json(metrics));
    std::cout << "metrics: " << o.json << "\n";
  }
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("eval", "Evaluate a results file against ground truth (COCO AP or VOC mAP)");
  auto o = std::make_shared<EvalOptions>();
  o->sub = sub;
  o->dataset.add_to(sub);
  sub->add_option("--gt", o->gt, "Ground truth as a COCO annotation JSON (no image folder needed)");
  sub->add_option("--dt", o->dt, "Detections as a COCO results JSON")->required();
  sub->add_option("--type", o->type, "What to evaluate: bbox or segm")
      ->capture_default_str()
      ->check(CLI::IsMember({"bbox", "segm"}));
  sub->add_option("--json", o->json, "Write the metrics (numbers, per-category, PR curves, confusion) here");
  sub->add_option("--threads", o->threads, "Threads for COCO evaluation (0: all cores)")
      ->capture_default_str();
  sub->add_option("--metric", o->metric, "coco or voc (default: voc for a VOC ground truth, else coco)")
      ->check(CLI::IsMember({"coco", "voc"}));
  sub->add_option("--voc-method", o->voc_method, "VOC AP rule: 11point (VOC2007) or area (VOC2010+)")
      ->capture_default_str()
      ->check(CLI::IsMember({"11point", "area"}));
  out.push_back({sub, [o]() { return run_eval(*o); }});
}

}  // namespace studio::cli
