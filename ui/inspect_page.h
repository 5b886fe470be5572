#pragma once
// The Inspect stage: what a model predicts on the open dataset, image by image. Predictions come
// from a COCO results JSON or from a checkpoint, through `studio-cli infer` run as a separate
// process (cached per checkpoint, its modification time, recipe and dataset). Every prediction
// is matched to the ground truth at IoU 0.5 (core/eval/match_predictions.h) so the viewer can
// show true positives, false positives and missed objects; the score threshold and the class
// filter re-match all images at once (the IoUs are cached), and the image list can be sorted
// by most errors or lowest per-image F1.
#include <QFutureWatcher>
#include <QImage>
#include <QWidget>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "eval/match_predictions.h"
#include "prediction_viewer.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QRadioButton;
class QSlider;
class QTableView;

namespace studio::ui {

class BackgroundJob;
class DatasetDocument;
class InferenceProcess;
class InspectImageModel;
class PathField;

class InspectPage : public QWidget {
  Q_OBJECT

 public:
  enum class Source { ResultsFile, Checkpoint };
  enum class SortOrder { FileOrder, MostErrors, LowestQuality };
  // Dataset-wide counts at the current threshold and class filter.
  struct Totals {
    int truePositives = 0;
    int falsePositives = 0;
    int missed = 0;
    int ignored = 0;
  };

  explicit InspectPage(DatasetDocument* document, QWidget* parent = nullptr);
  ~InspectPage() override;

  // Inputs.
  void setSource(Source source);
  void setResultsPath(const QString& path);
  // Also fills the recipe with the run folder's config.yaml when there is one.
  void setCheckpointPath(const QString& path);
  void setRecipePath(const QString& path);
  [[nodiscard]] QString recipePath() const;
  // Where the predictions of `checkpoint` on the open dataset are cached (the file may not exist).
  [[nodiscard]] QString cachedResultsPath() const;
  // After predictions were written to `kept` (a cachedResultsPath): removes the other predictions
  // of the same checkpoint name in its folder (an older last.pt's) and all but the newest `keep`
  // of the rest, with their written-out datasets.
  void pruneInspectCache(const QString& kept, int keep = 8);

  [[nodiscard]] bool isBusy() const;
  [[nodiscard]] bool hasPredictions() const { return matchers_ != nullptr; }
  [[nodiscard]] QString errorText() const;
  // The command line of the last inference started (for the log and tests).
  [[nodiscard]] QStringList lastInferenceArguments() const;

  // View.
  void setScoreThreshold(double threshold);  // rounded to the slider's 0.01 steps
  [[nodiscard]] double scoreThreshold() const;
  void setIouThreshold(double iou);  // the matching IoU (0.5 at first); rematches
  [[nodiscard]] double iouThreshold() const;
  // What the matcher is asked: the score and IoU thresholds and the class filter.
  [[nodiscard]] studio::MatchOptions matchOptions() const;
  void setClassFilter(std::optional<std::int64_t> categoryId);
  void setGroundTruthMode(PredictionViewer::GroundTruthMode mode);
  void setSortOrder(SortOrder order);
  [[nodiscard]] Totals totals() const { return totals_; }
  // The image list, in its current order.
  [[nodiscard]] int imageRows() const;
  [[nodiscard]] std::int64_t imageIdAtRow(int row) const;
  [[nodiscard]] const studio::ImageMatch* matchOf(std::int64_t imageId) const;
  bool showImage(std::int64_t imageId);
  [[nodiscard]] std::optional<std::int64_t> currentImageId() const;
  // Writes what the viewer shows now as a PNG; false (and the reason in the error bar) on failure.
  bool exportPng(const QString& path);

  [[nodiscard]] PredictionViewer* viewer() const { return viewer_; }
  [[nodiscard]] QSlider* thresholdSlider() const { return threshold_; }
  [[nodiscard]] QComboBox* classFilter() const { return classFilter_; }
  [[nodiscard]] QTableView* imageList() const { return list_; }
  [[nodiscard]] QPushButton* loadButton() const { return loadButton_; }
  [[nodiscard]] QComboBox* runCheckpoints() const { return siblings_; }

 public slots:
  // Results file: reads it. Checkpoint: uses the cached predictions or runs studio-cli infer.
  // Problems go to the error bar. Returns at once; predictionsLoaded() follows on success.
  void load();
  void cancel();

 signals:
  void predictionsLoaded();
  void loadFailed(const QString& message);
  // Inference finished (successfully or not, or cancelled); emitted before loading its output.
  void inferenceFinished(bool ok);

 private:
  QWidget* buildInputs();
  QWidget* buildView();
  void onDatasetChanged();
  void updateInputs();
  void showBanner(const QString& message);
  void setBusy(bool busy, const QString& stage = {});
  void loadResultsFile(const QString& path, const QString& origin);
  void startInference();
  void clearPredictions();
  void rematch();
  void resort();
  void updateTotals();
  void showImageAtIndex(int imageIndex);
  void applyLoadedImage();  // the pixels read for the shown image, when they are
  void waitForImage();      // blocks until they are (showImage)
  void refreshViewer();
  const PredictionViewer::Item& predictionItem(std::size_t detection);
  void exportWithDialog();

  DatasetDocument* document_;
  BackgroundJob* job_;
  InferenceProcess* inference_;

  // What the predictions were matched against: a copy of the open dataset taken when loading,
  // so the matchers' annotation indices stay valid whatever the Dataset page does meanwhile.
  std::shared_ptr<const studio::Dataset> gt_;
  std::shared_ptr<const std::vector<studio::ImageMatcher>> matchers_;
  std::vector<studio::ImageMatch> matches_;  // per image of gt_, at the current options
  QString loadedFrom_;
  std::size_t detectionCount_ = 0;
  Totals totals_;

  int imageIndex_ = -1;                                                 // into gt_->images
  QFutureWatcher<QImage> imageWatcher_;  // the shown image's pixels, read on the thread pool
  int loadingImage_ = -1;                // the image index they are read for; -1: none pending
  std::vector<std::optional<PredictionViewer::Item>> predictionItems_;  // built on first show
  std::vector<PredictionViewer::Item> groundTruthItems_;

  QLabel* groundTruth_;
  QRadioButton* fromResults_;
  QRadioButton* fromCheckpoint_;
  PathField* resultsField_;
  PathField* checkpointField_;
  QComboBox* siblings_;  // the other checkpoints of the run, to switch between epochs quickly
  PathField* recipeField_;
  QPushButton* loadButton_;
  QLabel* stage_;
  QProgressBar* progress_;
  QPushButton* cancelButton_;
  QLabel* banner_;
  QLabel* loadedLabel_;
  QSlider* threshold_;
  QDoubleSpinBox* iou_;
  QLabel* thresholdValue_;
  QComboBox* classFilter_;
  QComboBox* gtMode_;
  QCheckBox* labels_;
  QComboBox* sortOrder_;
  QPushButton* exportButton_;
  InspectImageModel* model_;
  QTableView* list_;
  QLabel* totalsLabel_;
  QLabel* imageCaption_;
  PredictionViewer* viewer_;
};

}  // namespace studio::ui
