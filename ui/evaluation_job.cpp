#include "evaluation_job.h"

#include <QFileInfo>

namespace studio::ui {

namespace {

// VOC curves are raw (one point per detection), not on the 101 recall thresholds, so they are
// drawn per class only; a mean over them would not be meaningful.
std::vector<studio::PrCurve> vocCurves(const studio::VocEvalResult& voc) {
  std::vector<studio::PrCurve> curves;
  for (const auto& c : voc.classes) {
    studio::PrCurve curve;
    curve.category_id = c.category_id;
    curve.iou = voc.iou_threshold;
    curve.recall = c.recall;
    curve.precision = c.precision;
    curves.push_back(std::move(curve));
  }
  return curves;
}

}  // namespace

EvaluationJob::EvaluationJob(QObject* parent) : QObject(parent) {
  connect(&job_, &BackgroundJob::runningChanged, this, &EvaluationJob::runningChanged);
  connect(&job_, &BackgroundJob::progress, this, &EvaluationJob::progress);
  connect(&job_, &BackgroundJob::succeeded, this, &EvaluationJob::finished);
  connect(&job_, &BackgroundJob::failed, this, &EvaluationJob::failed);
  connect(&job_, &BackgroundJob::cancelled, this, &EvaluationJob::cancelled);
}

bool EvaluationJob::start(const studio::Dataset& groundTruth, const EvaluationRequest& request) {
  if (job_.isRunning()) return false;
  auto gt = std::make_shared<studio::Dataset>(groundTruth);
  gt->index();
  auto outcome = std::make_shared<EvaluationOutcome>();
  outcome->request = request;
  outcome->groundTruth = gt;

  auto work = [outcome](const studio::Progress& progress) {
    const studio::Dataset& dataset = *outcome->groundTruth;
    const EvaluationRequest& req = outcome->request;
    const studio::IouType type =
        req.kind == EvaluationRequest::Kind::CocoSegm ? studio::IouType::Segm : studio::IouType::Bbox;
    progress(0, 0, "reading results");
    auto read = std::make_shared<const std::vector<studio::Detection>>(
        studio::read_coco_results(req.resultsPath.toStdString(), dataset, type));
    outcome->detectionList = read;
    const std::vector<studio::Detection>& dt = *read;
    outcome->detections = dt.size();
    progress.check_cancel();

    studio::MetricsFile& metrics = outcome->metrics;
    metrics.meta.model = QFileInfo(req.resultsPath).completeBaseName().toStdString();
    metrics.meta.dataset = req.datasetDescription.toStdString();
    metrics.source = req.resultsPath.toStdString();
    if (req.kind == EvaluationRequest::Kind::Voc) {
      progress(0, 0, "VOC mAP");
      outcome->voc = studio::evaluate_voc(dataset, dt, req.vocMethod);
      outcome->curves = vocCurves(*outcome->voc);
      metrics.voc = outcome->voc;
    } else {
      outcome->coco = studio::evaluate_coco(dataset, dt, type, {}, progress);
      progress.check_cancel();
      outcome->perCategory = studio::per_category_table(*outcome->coco, dataset);
      outcome->curves = studio::pr_curves(*outcome->coco);
      studio::CocoMetrics coco = studio::make_coco_metrics(*outcome->coco, dataset, dt);
      (type == studio::IouType::Segm ? metrics.segm : metrics.bbox) = std::move(coco);
    }
    progress.check_cancel();
    progress(0, 0, "confusion matrix");
    outcome->confusion = studio::confusion_matrix(dataset, dt, type, req.confusionIou, req.confusionScore);
  };
  return job_.start(std::move(work), [this, outcome] { outcome_ = outcome; });
}

}  // namespace studio::ui
