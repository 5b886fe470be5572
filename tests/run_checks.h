#pragma once
// Checks of a finished training run from outside the trainer: the evaluation the run folder
// reports (eval/metrics_<k>.json and its eval event) is derived again from the checkpoint alone,
// by building the recipe's model, loading the weights, running inference over the validation set
// in this one process and scoring it with evaluate_coco. For the tests of the trainer, data-parallel
// training and learning (tests/test_trainer.cpp, test_distributed.cpp, test_learning.cpp); the
// model is the recipe's through build_model, or another builder's (the tests' fake_detector.h).
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>

#include <array>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/config.h"
#include "data/dataset.h"
#include "engine/checkpoint.h"
#include "engine/data_loader.h"
#include "engine/inference.h"
#include "eval/coco_eval.h"
#include "eval/coco_results.h"
#include "eval/metrics_file.h"
#include "modeling/model_factory.h"

namespace studio::test {

// Builds a model from the recipe's model: section; empty: build_model (model_factory.h).
using ModelBuilder = std::function<DetectorPtr(const ConfigNode& model)>;

struct CheckpointEval {
  std::array<double, 12> segm{}, bbox{};
  std::size_t detections = 0;
  std::set<std::int64_t> image_ids;  // images with at least one detection
};

// The model of `checkpoint` (built from `recipe` with the checkpoint's classes), run over `val`
// with the recipe's test input and batch size, and scored for segm and bbox.
inline CheckpointEval evaluate_checkpoint(Config recipe, const std::string& checkpoint,
                                          const std::shared_ptr<const Dataset>& val, const ModelBuilder& build = {}) {
  const CheckpointContents info = read_checkpoint_info(checkpoint);
  recipe.set("model.num_classes", std::to_string(info.categories.size()), checkpoint);
  DetectorPtr model = build ? build(recipe.at("model")) : build_model(recipe.at("model"));
  load_model_weights(checkpoint, *model);
  const DataOptions data = data_options_from_config(recipe.at("data"));
  InferenceOptions io;
  io.workers = 0;
  io.batch_size = recipe.at("train").get_int("batch_size");  // batches as the trainer's evaluation makes them
  const std::vector<Detection> dets = run_inference(*model, val, info.categories, data.test_input, io);
  // Through the results file's text, as the trainer and `studio-cli eval` read it (loadRes' rules).
  const std::string json = to_coco_results_json(dets);
  CheckpointEval out;
  out.detections = dets.size();
  for (const Detection& d : dets) out.image_ids.insert(d.image_id);
  out.segm = evaluate_coco(*val, parse_coco_results(json, "checkpoint results", *val, IouType::Segm), IouType::Segm).stats;
  out.bbox = evaluate_coco(*val, parse_coco_results(json, "checkpoint results", *val, IouType::Bbox), IouType::Bbox).stats;
  return out;
}

// QCOMPAREs the 12 numbers (the same inference and the same evaluation give the same doubles).
inline void compare_stats(const std::array<double, 12>& got, const std::array<double, 12>& want, const char* what) {
  for (std::size_t i = 0; i < 12; ++i)
    QVERIFY2(got[i] == want[i], qPrintable(QString("%1 %2: %3, expected %4")
                                              .arg(what, summary_names()[i])
                                              .arg(got[i], 0, 'g', 17)
                                              .arg(want[i], 0, 'g', 17)));
}

// metrics_<epoch>.json of `run_dir` and its detections against the checkpoint's own evaluation:
// the same 12 segm and bbox numbers, every number a fraction or pycocotools' -1 (undefined).
inline void check_run_evaluation(const Config& recipe, const std::string& run_dir, int epoch,
                                 const std::string& checkpoint, const std::shared_ptr<const Dataset>& val,
                                 const ModelBuilder& build = {}) {
  const std::string k = std::to_string(epoch);
  const MetricsFile m = read_metrics(run_dir + "/eval/metrics_" + k + ".json");
  QVERIFY(m.segm.has_value());
  QVERIFY(m.bbox.has_value());
  for (const auto* stats : {&m.segm->stats, &m.bbox->stats})
    for (double v : *stats) QVERIFY2(v == -1.0 || (v >= 0.0 && v <= 1.0), qPrintable(QString::number(v)));
  const CheckpointEval again = evaluate_checkpoint(recipe, checkpoint, val, build);
  compare_stats(m.segm->stats, again.segm, "segm");
  if (QTest::currentTestFailed()) return;
  compare_stats(m.bbox->stats, again.bbox, "bbox");
  if (QTest::currentTestFailed()) return;
  const std::vector<Detection> written =
      read_coco_results(run_dir + "/eval/results_" + k + ".json", *val, IouType::Segm);
  QCOMPARE(written.size(), again.detections);
  std::set<std::int64_t> written_ids;
  for (const Detection& d : written) written_ids.insert(d.image_id);
  QVERIFY(written_ids == again.image_ids);  // every image predicted once (data-parallel: gathered from all ranks)
}

}  // namespace studio::test
