#pragma once
// One evaluation of a results file against the open dataset, run off the GUI thread: reads the
// detections, scores them (COCO bbox/segm or VOC mAP) and derives what the Evaluate page shows
// (per-category table, PR curves, confusion matrix, the metrics file). The page only displays it.
#include <QObject>
#include <QString>
#include <memory>
#include <optional>
#include <vector>

#include "background_job.h"
#include "data/dataset.h"
#include "eval/coco_eval.h"
#include "eval/coco_results.h"
#include "eval/eval_reports.h"
#include "eval/metrics_file.h"
#include "eval/voc_eval.h"

namespace studio::ui {

struct EvaluationRequest {
  enum class Kind { CocoBbox, CocoSegm, Voc };
  Kind kind = Kind::CocoBbox;
  studio::VocApMethod vocMethod = studio::VocApMethod::Area;
  QString resultsPath;
  QString datasetDescription;  // goes into the metrics file's meta
  double confusionScore = 0.3, confusionIou = 0.5;  // the confusion matrix's thresholds
};

// Everything one evaluation produced. Immutable once published, so views may keep pointers into it.
struct EvaluationOutcome {
  EvaluationRequest request;
  std::shared_ptr<const studio::Dataset> groundTruth;
  std::size_t detections = 0;
  // The detections read (the confusion matrix is recomputed from them at other thresholds).
  std::shared_ptr<const std::vector<studio::Detection>> detectionList;
  std::optional<studio::CocoEvalResult> coco;  // COCO kinds
  std::optional<studio::VocEvalResult> voc;    // VOC kind
  std::vector<studio::CategoryRow> perCategory;
  std::vector<studio::PrCurve> curves;
  studio::ConfusionMatrix confusion;
  studio::MetricsFile metrics;
};

class EvaluationJob : public QObject {
  Q_OBJECT

 public:
  explicit EvaluationJob(QObject* parent = nullptr);

  [[nodiscard]] bool isRunning() const { return job_.isRunning(); }
  // Null before the first successful evaluation; replaced (never edited) by the next one.
  [[nodiscard]] std::shared_ptr<const EvaluationOutcome> outcome() const { return outcome_; }

  // Copies `groundTruth` so that opening another dataset meanwhile cannot pull it away from the
  // worker. Returns false while an evaluation runs.
  bool start(const studio::Dataset& groundTruth, const EvaluationRequest& request);
  void cancel() { job_.cancel(); }

 signals:
  void runningChanged(bool running);
  void progress(qint64 done, qint64 total, const QString& stage);
  void finished();
  void failed(const QString& message);
  void cancelled();

 private:
  BackgroundJob job_;
  std::shared_ptr<const EvaluationOutcome> outcome_;
};

}  // namespace studio::ui
