#pragma once
// The open dataset of the studio: the studio::Dataset, its statistics and the checker's report,
// with the slow operations on it (open, generate the demo, check) run off the GUI thread.
// Pages and item models read from it and follow its signals; none of them owns the data.
#include <QObject>
#include <QString>
#include <memory>
#include <optional>

#include "background_job.h"
#include "data/checker.h"
#include "data/dataset.h"
#include "data/dataset_spec.h"
#include "data/stats.h"

namespace studio::ui {

class DatasetDocument : public QObject {
  Q_OBJECT

 public:
  enum class Operation { Open, Check };
  Q_ENUM(Operation)

  explicit DatasetDocument(QObject* parent = nullptr);
  ~DatasetDocument() override;

  [[nodiscard]] bool hasDataset() const { return dataset_ != nullptr; }
  // Valid only while hasDataset().
  [[nodiscard]] const studio::Dataset& dataset() const { return *dataset_; }
  [[nodiscard]] const studio::DatasetStats& stats() const { return *stats_; }
  // Null until the checker ran on the current dataset.
  [[nodiscard]] const studio::CheckReport* checkReport() const { return report_.get(); }
  // What the dataset was opened from, for titles ("coco:ann.json:images/", "demo: FOLDER").
  [[nodiscard]] QString description() const { return description_; }
  // The spec the open dataset was read with (the demo: its COCO files), so pages that hand the
  // dataset to studio-cli name it with everything it was read with (a VOC names file, which the
  // description's voc:ROOT:SPLIT leaves out). Empty for a dataset installed with setDataset().
  [[nodiscard]] const std::optional<studio::DatasetSpec>& spec() const { return spec_; }
  // One line for the pages that score against the open dataset: its description, image and class
  // counts, or what to do when none is open.
  [[nodiscard]] QString groundTruthSummary() const;

  [[nodiscard]] bool isBusy() const { return job_.isRunning(); }
  [[nodiscard]] std::optional<Operation> runningOperation() const;

  // Each starts background work and returns false when other work is running. On success the
  // dataset is replaced (datasetChanged); on failure or cancellation the previous one stays.
  bool open(const studio::DatasetSpec& spec);
  // Writes the shapes demo set into `folder` (the default demo folder when empty) and opens it.
  bool openDemo(const QString& folder = {});
  bool check();
  void cancel() { job_.cancel(); }

  // Installs a dataset read elsewhere (index() is called here).
  void setDataset(studio::Dataset dataset, const QString& description);

  // <AppLocalDataLocation>/demo-shapes, or a folder under the temp dir when that is not writable.
  static QString defaultDemoFolder();
  // Images in the demo set (the size a first look needs, generated in about a second).
  static constexpr int kDemoImages = 24;
  static constexpr int kDemoImageSize = 320;

 signals:
  void busyChanged(bool busy);
  void progress(qint64 done, qint64 total, const QString& stage);
  void datasetChanged();
  void checkReportChanged();
  // The reader's or checker's message (studio::Error text), ready to show.
  void failed(studio::ui::DatasetDocument::Operation operation, const QString& message);
  void cancelled(studio::ui::DatasetDocument::Operation operation);

 private:
  struct Loaded {
    studio::Dataset dataset;
    studio::DatasetStats stats;
  };
  bool startOpen(std::function<studio::Dataset(const studio::Progress&)> read, const QString& description,
                 std::optional<studio::DatasetSpec> spec);
  void install(std::unique_ptr<Loaded> loaded, const QString& description,
               std::optional<studio::DatasetSpec> spec);

  std::optional<Operation> operation_;
  std::unique_ptr<studio::Dataset> dataset_;
  std::unique_ptr<studio::DatasetStats> stats_;
  std::unique_ptr<studio::CheckReport> report_;
  QString description_;
  std::optional<studio::DatasetSpec> spec_;
  // Last, so it is destroyed first: its destructor waits for a check still reading dataset_.
  BackgroundJob job_;
};

}  // namespace studio::ui
