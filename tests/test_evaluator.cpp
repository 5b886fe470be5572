// The trainer's evaluation (engine/evaluator.h) with the tests' stand-in Detector
// (fake_detector.h): the metric is chosen by the validation set's format (COCO bbox and segm for a
// mask model, bbox alone for a box-only one, VOC mAP for a VOC set); results_<k>.json,
// metrics_<k>.json and the eval event hold the same numbers, and they are the ones the results
// file gives when scored from outside as `studio-cli eval` does; best.pt follows that metric.
#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <QtTest>
#include <filesystem>
#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/run_folder.h"
#include "data/shapes_generator.h"
#include "engine/evaluator.h"
#include "engine/events.h"
#include "engine/trainer.h"
#include "eval/coco_eval.h"
#include "eval/coco_results.h"
#include "eval/metrics_file.h"
#include "eval/voc_eval.h"
#include "fake_detector.h"
#include "test_support.h"

using namespace studio;
namespace fs = std::filesystem;

namespace {

// The stand-in's detections on a 64-pixel image: the whole image, 7 x 7 windows of 16 pixels and
// 3 x 3 of 32.
constexpr int kWindows = 1 + 49 + 9;

std::shared_ptr<Dataset> shapes(const std::string& dir, int images, std::uint64_t seed,
                                DatasetFormat format = DatasetFormat::Coco) {
  ShapesOptions o;
  o.out_dir = dir;
  o.images = images;
  o.seed = seed;
  o.size = 64;
  o.max_objects = 3;
  auto ds = std::make_shared<Dataset>(generate_shapes(o));
  // One class: the stand-in model finds shapes by their colour, it does not tell them apart.
  ds->categories = {{1, "shape", ""}};
  for (Annotation& a : ds->annotations) a.category_id = 1;
  ds->format = format;  // the evaluator looks at the format only
  ds->index();
  return ds;
}

DetectorPtr fake_model(int classes, bool masks) {
  torch::manual_seed(3);
  test::FakeDetectorOptions o;
  o.num_classes = classes;
  o.masks = masks;
  return std::make_shared<test::FakeDetector>(o);
}

EvaluatorOptions options_for(const std::shared_ptr<const Dataset>& val) {
  EvaluatorOptions o;
  o.val = val;
  o.categories = val->categories;
  o.input.short_sides = {64};
  o.input.long_side = 64;
  o.inference.batch_size = 2;
  o.inference.workers = 0;
  o.meta.model = "fake";
  o.meta.dataset = val->source;
  o.meta.devices = 1;
  o.meta.epochs = 12;
  return o;
}

std::vector<YAML::Node> events_of(const std::string& run_dir, const std::string& type) {
  std::vector<YAML::Node> out;
  std::ifstream in(RunFolder{run_dir}.events());
  for (std::string line; std::getline(in, line);) {
    const YAML::Node e = YAML::Load(line);
    if (e["type"].as<std::string>() == type) out.push_back(e);
  }
  return out;
}

// The event's group of 12 numbers equals `stats`.
void compare_group(const YAML::Node& group, const std::array<double, 12>& stats, const char* what) {
  QVERIFY2(group.IsMap(), what);
  for (std::size_t i = 0; i < 12; ++i) {
    const char* key = summary_names()[i];
    QVERIFY2(group[key], (std::string(what) + " lacks " + key).c_str());
    QCOMPARE(group[key].as<double>(), stats[i]);
  }
}

}  // namespace

class TestEvaluator : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { at::set_num_threads(1); }

  void metric_follows_the_dataset_format() {
    Dataset d;
    for (const DatasetFormat f : {DatasetFormat::Coco, DatasetFormat::Txt, DatasetFormat::Synthetic}) {
      d.format = f;
      QVERIFY(eval_metric_for(d) == EvalMetric::Coco);
    }
    d.format = DatasetFormat::Voc;
    QVERIFY(eval_metric_for(d) == EvalMetric::Voc);
    // train.eval_metric names the metric whatever the format (a TXT or COCO set scored by VOC07).
    for (const DatasetFormat f : {DatasetFormat::Coco, DatasetFormat::Txt, DatasetFormat::Voc}) {
      d.format = f;
      QVERIFY(eval_metric_for(d, EvalMetricSetting::Voc07) == EvalMetric::Voc07);
      QVERIFY(eval_metric_for(d, EvalMetricSetting::Voc) == EvalMetric::Voc);
      QVERIFY(eval_metric_for(d, EvalMetricSetting::Coco) == EvalMetric::Coco);
    }
  }

  // train.eval_metric voc07 on a COCO-format set (the SSD recipes): VOC2007's 11-point mAP, the
  // same number evaluate_voc gives on the written results, and the metrics file names the rule.
  void voc07_setting_scores_eleven_point_map() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    const auto val = shapes(root + "/val", 5, 2);
    DetectorPtr model = fake_model(static_cast<int>(val->categories.size()), false);
    RunLog log(root + "/run");
    EvaluatorOptions o = options_for(val);
    o.metric = EvalMetricSetting::Voc07;
    Evaluator evaluator(o, log, nullptr);
    QVERIFY(evaluator.metric() == EvalMetric::Voc07);
    const EvalSummary s = evaluator.evaluate(*model, 1, 5, 1);
    QVERIFY(s.has_voc && !s.has_segm);
    QVERIFY(s.voc_map > 0 && s.voc_map <= 1);
    const auto dets = read_coco_results(s.results_path, *val, IouType::Bbox);
    QCOMPARE(evaluate_voc(*val, dets, VocApMethod::Points11).map, s.voc_map);
    QVERIFY(evaluate_voc(*val, dets, VocApMethod::Area).map != s.voc_map);  // the rule matters here
    const MetricsFile m = read_metrics(s.metrics_path);
    QVERIFY(m.voc && !m.bbox);
    QVERIFY(m.voc->method == VocApMethod::Points11);
    QCOMPARE(events_of(root + "/run", event_type::kEval).at(0)["voc"]["mAP"].as<double>(), s.voc_map);
  }

  // The recipe key: train.eval_metric auto|coco|voc|voc07; anything else names the key and choices.
  void trainer_reads_eval_metric() {
    auto opts = [](const std::string& value) {
      return trainer_options_from_config(Config::parse("train: {eval_metric: " + value + "}\n", "e.yaml").at("train"));
    };
    QVERIFY(opts("voc07").eval_metric == EvalMetricSetting::Voc07);
    QVERIFY(opts("voc").eval_metric == EvalMetricSetting::Voc);
    QVERIFY(opts("coco").eval_metric == EvalMetricSetting::Coco);
    QVERIFY(opts("auto").eval_metric == EvalMetricSetting::Auto);
    STUDIO_EXPECT_ERROR(opts("map50"), "eval_metric", "voc07");
  }

  void mask_model_on_coco_scores_segm_and_bbox() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    const auto val = shapes(root + "/val", 5, 2);
    DetectorPtr model = fake_model(static_cast<int>(val->categories.size()), true);
    RunLog log(root + "/run");
    Evaluator evaluator(options_for(val), log, nullptr);
    QVERIFY(evaluator.metric() == EvalMetric::Coco);
    const EvalSummary s = evaluator.evaluate(*model, 3, 30, 12.5);
    QCOMPARE(s.epoch, 3);
    QVERIFY(s.has_segm);
    QVERIFY(!s.has_voc);
    QCOMPARE(s.results_path, RunFolder{root + "/run"}.results(3));
    QCOMPARE(s.metrics_path, RunFolder{root + "/run"}.metrics(3));
    QCOMPARE(s.key_metric(), s.segm[0]);
    QVERIFY(s.segm[0] > 0 && s.bbox[0] > 0);  // it finds shapes: the numbers compared below are not all 0

    // The numbers are the results file's, scored from outside.
    const std::vector<Detection> segm = read_coco_results(s.results_path, *val, IouType::Segm);
    QCOMPARE(int(segm.size()), 5 * kWindows);
    QCOMPARE(evaluate_coco(*val, segm, IouType::Segm).stats, s.segm);
    QCOMPARE(evaluate_coco(*val, read_coco_results(s.results_path, *val, IouType::Bbox), IouType::Bbox).stats,
             s.bbox);
    for (double v : s.segm) QVERIFY2(v == -1.0 || (v >= 0 && v <= 1), qPrintable(QString::number(v)));

    const MetricsFile m = read_metrics(s.metrics_path);
    QVERIFY(m.segm && m.bbox);
    QVERIFY(!m.voc);
    QCOMPARE(m.segm->stats, s.segm);
    QCOMPARE(m.bbox->stats, s.bbox);
    QCOMPARE(m.meta.model, std::string("fake"));
    QCOMPARE(m.meta.dataset, val->source);
    QCOMPARE(m.meta.epochs, 12);
    QCOMPARE(m.meta.images_per_s, 12.5);

    // The evaluation's start is announced first (the GUI shows it while it runs).
    const auto starts = events_of(root + "/run", event_type::kEvalStart);
    QCOMPARE(int(starts.size()), 1);
    QCOMPARE(starts[0]["epoch"].as<int>(), 3);
    QCOMPARE(starts[0]["images"].as<double>(), double(val->images.size()));
    const auto evals = events_of(root + "/run", event_type::kEval);
    QCOMPARE(int(evals.size()), 1);
    QCOMPARE(evals[0]["epoch"].as<int>(), 3);
    QCOMPARE(evals[0]["iter"].as<std::int64_t>(), std::int64_t(30));
    compare_group(evals[0]["segm"], s.segm, "segm");
    compare_group(evals[0]["bbox"], s.bbox, "bbox");
    QVERIFY(!evals[0]["voc"]);
  }

  void box_only_model_scores_bbox() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    const auto val = shapes(root + "/val", 4, 2);
    DetectorPtr model = fake_model(static_cast<int>(val->categories.size()), false);
    RunLog log(root + "/run");
    Evaluator evaluator(options_for(val), log, nullptr);
    const EvalSummary s = evaluator.evaluate(*model, 1, 10, -1);
    QVERIFY(!s.has_segm);
    QVERIFY(!s.has_voc);
    QCOMPARE(s.key_metric(), s.bbox[0]);
    QVERIFY(s.bbox[0] > 0);
    const std::vector<Detection> boxes = read_coco_results(s.results_path, *val, IouType::Bbox);
    QCOMPARE(int(boxes.size()), 4 * kWindows);
    for (const Detection& d : boxes) QVERIFY(!d.segm);
    QCOMPARE(evaluate_coco(*val, boxes, IouType::Bbox).stats, s.bbox);
    const MetricsFile m = read_metrics(s.metrics_path);
    QVERIFY(m.bbox);
    QVERIFY(!m.segm);
    QVERIFY(!m.voc);
    QCOMPARE(m.bbox->stats, s.bbox);
    QCOMPARE(m.meta.images_per_s, -1.0);
    const auto evals = events_of(root + "/run", event_type::kEval);
    QCOMPARE(int(evals.size()), 1);
    compare_group(evals[0]["bbox"], s.bbox, "bbox");
    QVERIFY(!evals[0]["segm"]);
  }

  // A VOC validation set: VOC mAP (area rule, as `studio-cli eval voc:...` by default), for the
  // masks' tight boxes of a mask model too.
  void voc_dataset_scores_voc_map() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    const auto val = shapes(root + "/val", 5, 2, DatasetFormat::Voc);
    DetectorPtr model = fake_model(static_cast<int>(val->categories.size()), true);
    RunLog log(root + "/run");
    Evaluator evaluator(options_for(val), log, nullptr);
    QVERIFY(evaluator.metric() == EvalMetric::Voc);
    const EvalSummary s = evaluator.evaluate(*model, 2, 20, 3);
    QVERIFY(s.has_voc);
    QVERIFY(!s.has_segm);
    QCOMPARE(s.key_metric(), s.voc_map);
    QVERIFY(s.voc_map > 0 && s.voc_map <= 1);
    const VocEvalResult again = evaluate_voc(*val, read_coco_results(s.results_path, *val, IouType::Bbox));
    QCOMPARE(again.map, s.voc_map);
    const MetricsFile m = read_metrics(s.metrics_path);
    QVERIFY(m.voc);
    QVERIFY(!m.segm && !m.bbox);
    QCOMPARE(m.voc->map, s.voc_map);
    QVERIFY(m.voc->method == VocApMethod::Area);
    QCOMPARE(m.voc->classes.size(), again.classes.size());
    const auto evals = events_of(root + "/run", event_type::kEval);
    QCOMPARE(int(evals.size()), 1);
    QCOMPARE(evals[0]["voc"]["mAP"].as<double>(), s.voc_map);
    QVERIFY(!evals[0]["segm"] && !evals[0]["bbox"]);
  }

  // A model that trains on masks (SOLOv2, Mask R-CNN; here the fake with needs_masks) refuses a
  // box-only training set before it starts, naming the dataset and the model.
  void mask_model_refuses_a_box_only_training_set() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    TrainerSetup setup;
    setup.run_dir = root + "/run";
    auto boxes_only = std::make_shared<Dataset>(*shapes(root + "/train", 4, 1, DatasetFormat::Txt));
    for (Annotation& a : boxes_only->annotations) a.polygons.clear(), a.rle.reset();  // as a TXT list has
    boxes_only->index();
    setup.train = boxes_only;
    setup.build_model = test::build_fake_detector;
    const std::string yaml = "model: {type: fake, num_classes: 1, needs_masks: true}\ndata: {workers: 0}\n";
    STUDIO_EXPECT_ERROR(Trainer(Config::load(test::write_text(dir, "m.yaml", yaml)), setup),
                        setup.train->source.c_str(), "box-only", "model 'fake'");
    // The same model on the same images with masks (COCO) is built (the constructor does not throw).
    setup.train = shapes(root + "/coco", 4, 1);
    const Trainer ok(Config::load(test::write_text(dir, "m.yaml", yaml)), setup);
  }

  // Through the trainer: a VOC validation set gives VOC eval events, and best.pt and the end
  // event's best follow the mAP.
  void trainer_keeps_the_best_voc_map() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    const std::string yaml = R"(
model: {type: fake, num_classes: 1}
data:
  input: {short_side: [64], long_side: 64}
  test_input: {short_side: [64], long_side: 64}
  workers: 0
train:
  batch_size: 2
  epochs: 3
  optimizer: {type: adamw, lr: 0.05}
  schedule: {warmup: none}
  log_interval: 10
)";
    TrainerSetup setup;
    setup.run_dir = root + "/run";
    setup.train = shapes(root + "/train", 6, 1);
    setup.val = shapes(root + "/val", 4, 2, DatasetFormat::Voc);
    setup.build_model = test::build_fake_detector;
    Trainer t(Config::load(test::write_text(dir, "voc.yaml", yaml)), setup);
    QVERIFY(t.train());
    QVERIFY(t.last_eval() && t.last_eval()->has_voc);
    const auto evals = events_of(setup.run_dir, event_type::kEval);
    QCOMPARE(int(evals.size()), 3);
    double best = -1;
    int best_epoch = 0;
    for (const auto& e : evals) {
      QVERIFY(!e["segm"] && !e["bbox"]);
      const double map = e["voc"]["mAP"].as<double>();
      if (map > best) {
        best = map;
        best_epoch = e["epoch"].as<int>();
      }
    }
    QCOMPARE(t.state().best_metric, best);
    QCOMPARE(t.state().best_epoch, best_epoch);
    const auto ends = events_of(setup.run_dir, event_type::kEnd);
    QCOMPARE(int(ends.size()), 1);
    QCOMPARE(ends[0]["best_segm_ap"].as<double>(), best);
    QCOMPARE(read_checkpoint_info(RunFolder{setup.run_dir}.best_checkpoint()).state.epoch, best_epoch);
  }

  // Stop (the GUI's, Ctrl-C) while epoch 1 is being evaluated: last.pt says the epoch's end is
  // pending, and --resume evaluates epoch 1 before training epoch 2, so no evaluation is lost.
  void stop_during_evaluation_evaluates_on_resume() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    const std::string yaml = R"(
model: {type: fake, num_classes: 1}
data:
  input: {short_side: [64], long_side: 64}
  test_input: {short_side: [64], long_side: 64}
  workers: 0
train:
  batch_size: 2
  epochs: 2
  optimizer: {type: adamw, lr: 0.05}
  schedule: {warmup: none}
)";
    std::atomic<bool> cancel{false};
    TrainerSetup setup;
    setup.run_dir = root + "/run";
    setup.train = shapes(root + "/train", 4, 1);
    setup.val = shapes(root + "/val", 4, 2);
    setup.cancel = &cancel;
    // The stand-in model asks to stop as soon as it predicts (the first evaluation).
    struct StopWhenPredicting : test::FakeDetector {
      StopWhenPredicting(const test::FakeDetectorOptions& o, std::atomic<bool>* stop) : FakeDetector(o), stop_(stop) {}
      std::vector<Instances> predict(const ImageBatch& batch) override {
        *stop_ = true;
        return FakeDetector::predict(batch);
      }
      std::atomic<bool>* stop_;
    };
    setup.build_model = [&cancel](const ConfigNode& model) -> DetectorPtr {
      return std::make_shared<StopWhenPredicting>(test::fake_detector_options_from_config(model), &cancel);
    };
    const std::string recipe = test::write_text(dir, "r.yaml", yaml);
    {
      Trainer t(Config::load(recipe), setup);
      QVERIFY(!t.train());
    }
    QCOMPARE(int(events_of(setup.run_dir, event_type::kEvalStart).size()), 1);
    QVERIFY(events_of(setup.run_dir, event_type::kEval).empty());
    const CheckpointContents stopped = read_checkpoint_info(RunFolder{setup.run_dir}.last_checkpoint());
    QCOMPARE(stopped.state.epoch, 1);
    QVERIFY(stopped.state.epoch_end_pending);

    cancel = false;
    setup.resume = true;
    setup.build_model = test::build_fake_detector;
    {
      Trainer t(Config::load(recipe), setup);
      QVERIFY(t.train());
    }
    const auto evals = events_of(setup.run_dir, event_type::kEval);
    QCOMPARE(int(evals.size()), 2);
    QCOMPARE(evals[0]["epoch"].as<int>(), 1);
    QCOMPARE(evals[1]["epoch"].as<int>(), 2);
    QVERIFY(std::filesystem::exists(RunFolder{setup.run_dir}.epoch_checkpoint(1)));  // its checkpoint too
    QVERIFY(!read_checkpoint_info(RunFolder{setup.run_dir}.last_checkpoint()).state.epoch_end_pending);
  }
};

QTEST_APPLESS_MAIN(TestEvaluator)
#include "test_evaluator.moc"
