#pragma once
// The Evaluate stage: scores a COCO results file against the open dataset (COCO bbox/segm, or
// VOC mAP on the boxes of any format: SSD users score TXT lists by VOC07 11-point mAP) off the GUI
// thread and shows the 12 summary numbers, a per-category table, precision-recall curves and the
// confusion matrix. The metrics can be saved as JSON or sent to the Results page.
#include <QList>
#include <QFutureWatcher>
#include <QWidget>
#include <memory>
#include <optional>

#include "eval/metrics_file.h"

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QRadioButton;
class QSortFilterProxyModel;
class QTabWidget;
class QTableView;
class QTableWidget;

namespace studio::ui {

class CategoryMetricsModel;
class ConfusionMatrixView;
class DatasetDocument;
class EvaluationJob;
class PathField;
class InferenceProcess;
class PrCurvePlot;
struct EvaluationOutcome;

class EvaluatePage : public QWidget {
  Q_OBJECT

 public:
  // What is scored. Boxes and VOC mAP are offered for every dataset with annotations, masks only
  // when the dataset has some. VOC mAP is the default for VOC datasets, boxes for the others,
  // until the user picks a metric: then the pick stays while it is offered.
  enum class Metric { Bbox, Segm, Voc };
  enum class VocMethod { Area, Points11 };

  explicit EvaluatePage(DatasetDocument* document, QWidget* parent = nullptr);

  void setResultsPath(const QString& path);
  // Scores a checkpoint instead: its predictions on the open dataset come from studio-cli infer
  // (with `recipe`; default: the run's config.yaml) and are kept at checkpointPredictionsPath().
  void setCheckpointPath(const QString& checkpoint);
  void setRecipePath(const QString& recipe);
  [[nodiscard]] QString recipePath() const;
  [[nodiscard]] QString checkpointPredictionsPath() const;
  [[nodiscard]] QString resultsPath() const;
  // Returns false when `metric` is not offered for the open dataset. Counts as the user's pick.
  bool setMetric(Metric metric);
  [[nodiscard]] Metric metric() const;
  // The metrics on offer for the open dataset, in the combo's order.
  [[nodiscard]] QList<Metric> offeredMetrics() const;
  void setVocMethod(VocMethod method);

  [[nodiscard]] bool isRunning() const;
  [[nodiscard]] bool hasResults() const { return outcome_ != nullptr; }
  // The last failure shown in the error bar (empty when none).
  [[nodiscard]] QString errorText() const;

  // The summary table as shown: row names ("AP", …) and their value text ("1.000", "–").
  [[nodiscard]] QTableWidget* summaryTable() const { return summary_; }
  [[nodiscard]] QString summaryValue(const QString& name) const;
  [[nodiscard]] QTableView* categoryTable() const { return categoryView_; }
  [[nodiscard]] QSortFilterProxyModel* categoryProxy() const { return categoryProxy_; }
  [[nodiscard]] PrCurvePlot* prCurves() const { return prPlot_; }
  [[nodiscard]] ConfusionMatrixView* confusion() const { return confusion_; }
  [[nodiscard]] QTabWidget* tabs() const { return tabs_; }
  [[nodiscard]] QPushButton* evaluateButton() const { return evaluateButton_; }

  // The metrics of the last evaluation, with the other IoU type scored just before on the same
  // results file and ground truth (valid while hasResults()).
  [[nodiscard]] studio::MetricsFile metrics() const;
  // Writes metrics_to_json atomically; on failure shows why and returns false.
  bool saveMetrics(const QString& path);

 public slots:
  // Starts the evaluation; problems with the inputs go to the error bar. Returns at once.
  void evaluate();
  void cancel();
  void addToResults();

 signals:
  void addToResultsRequested(const studio::MetricsFile& metrics);
  void evaluationFinished();

 private:
  QWidget* buildInputs();
  QWidget* buildResults();
  void onDatasetChanged();
  void onRunningChanged(bool running);
  void onProgress(qint64 done, qint64 total, const QString& stage);
  void onFinished();
  void showBanner(const QString& message);
  void showOutcome();
  void clearResults();
  void saveMetricsWithDialog();
  void updateButtons();
  bool selectMetric(Metric metric);
  void showVocMethod();
  void recomputeConfusion();  // for the view's thresholds, on the thread pool
  void evaluateCheckpoint();  // predictions (cached or from studio-cli infer), then evaluateFile
  void evaluateFile(const QString& path);

  DatasetDocument* document_;
  EvaluationJob* job_;
  InferenceProcess* inference_;  // studio-cli infer, for a checkpoint
  std::shared_ptr<const EvaluationOutcome> outcome_;
  // outcome_'s metrics, with the other COCO IoU type of the evaluation before it when that scored
  // the same results file against the same ground truth: what Save and Add to Results give.
  studio::MetricsFile combined_;
  // The metric the user picked (combo or setMetric), kept across datasets while offered.
  std::optional<Metric> chosenMetric_;
  QFutureWatcher<studio::ConfusionMatrix> confusionWatcher_;
  std::shared_ptr<const EvaluationOutcome> confusionFor_;  // the outcome being recomputed
  bool confusionPending_ = false;

  QLabel* groundTruth_;
  QRadioButton* fromResults_;
  QRadioButton* fromCheckpoint_;
  PathField* resultsField_;
  PathField* checkpointField_;
  PathField* recipeField_;
  QComboBox* metric_;
  QLabel* vocMethodLabel_;
  QComboBox* vocMethod_;
  QPushButton* evaluateButton_;
  QLabel* stage_;
  QProgressBar* progress_;
  QPushButton* cancelButton_;
  QPushButton* saveButton_;
  QPushButton* addButton_;
  QLabel* banner_;
  QLabel* resultTitle_;
  QTableWidget* summary_;
  CategoryMetricsModel* categoryModel_;
  QSortFilterProxyModel* categoryProxy_;
  QTableView* categoryView_;
  PrCurvePlot* prPlot_;
  ConfusionMatrixView* confusion_;
  QTabWidget* tabs_;
};

}  // namespace studio::ui
