#include "dataset_document.h"

#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

#include "data/shapes_generator.h"

namespace studio::ui {

DatasetDocument::DatasetDocument(QObject* parent) : QObject(parent) {
  connect(&job_, &BackgroundJob::runningChanged, this, &DatasetDocument::busyChanged);
  connect(&job_, &BackgroundJob::progress, this, &DatasetDocument::progress);
  connect(&job_, &BackgroundJob::failed, this, [this](const QString& message) {
    const Operation op = operation_.value_or(Operation::Open);
    operation_.reset();
    emit failed(op, message);
  });
  connect(&job_, &BackgroundJob::cancelled, this, [this] {
    const Operation op = operation_.value_or(Operation::Open);
    operation_.reset();
    emit cancelled(op);
  });
}

DatasetDocument::~DatasetDocument() = default;

std::optional<DatasetDocument::Operation> DatasetDocument::runningOperation() const {
  return job_.isRunning() ? operation_ : std::nullopt;
}

bool DatasetDocument::open(const studio::DatasetSpec& spec) {
  return startOpen([spec](const studio::Progress& progress) { return studio::load_dataset(spec, progress); },
                   QString::fromStdString(spec.describe()), spec);
}

bool DatasetDocument::openDemo(const QString& folder) {
  const QString dir = folder.isEmpty() ? defaultDemoFolder() : folder;
  studio::ShapesOptions options;
  options.out_dir = QDir::toNativeSeparators(dir).toStdString();
  options.images = kDemoImages;
  options.size = kDemoImageSize;
  // Several overlapping shapes on every image, so the first one shown already has masks
  // covering each other.
  options.min_objects = 3;
  options.max_objects = 7;
  // The generator returns the dataset it wrote, so the demo opens without reading it back. It
  // writes COCO (shapes_generator.h): annotations.json and images/, which is how studio-cli reads it.
  studio::DatasetSpec spec;
  spec.format = studio::DatasetFormat::Coco;
  spec.annotations = QDir(dir).filePath(QStringLiteral("annotations.json")).toStdString();
  spec.images = QDir(dir).filePath(QStringLiteral("images")).toStdString();
  return startOpen(
      [options](const studio::Progress& progress) { return studio::generate_shapes(options, progress); },
      tr("demo: %1").arg(QDir::toNativeSeparators(dir)), spec);
}

bool DatasetDocument::startOpen(std::function<studio::Dataset(const studio::Progress&)> read,
                                const QString& description, std::optional<studio::DatasetSpec> spec) {
  if (job_.isRunning()) return false;
  auto loaded = std::make_shared<std::unique_ptr<Loaded>>();
  operation_ = Operation::Open;
  return job_.start(
      [read = std::move(read), loaded](const studio::Progress& progress) {
        auto result = std::make_unique<Loaded>();
        result->dataset = read(progress);
        progress.check_cancel();
        // Indexing and statistics walk every annotation: keep them off the GUI thread too.
        result->dataset.index();
        result->stats = studio::compute_stats(result->dataset);
        *loaded = std::move(result);
      },
      [this, loaded, description, spec = std::move(spec)] {
        operation_.reset();
        install(std::move(*loaded), description, spec);
      });
}

bool DatasetDocument::check() {
  if (job_.isRunning() || !dataset_) return false;
  auto report = std::make_shared<studio::CheckReport>();
  // The dataset is not replaced while the job runs (open() refuses), so the worker may read it.
  const studio::Dataset* dataset = dataset_.get();
  operation_ = Operation::Check;
  return job_.start(
      [dataset, report](const studio::Progress& progress) {
        *report = studio::check_dataset(*dataset, {}, progress);
      },
      [this, report] {
        operation_.reset();
        report_ = std::make_unique<studio::CheckReport>(std::move(*report));
        emit checkReportChanged();
      });
}

QString DatasetDocument::groundTruthSummary() const {
  if (!hasDataset()) return tr("No dataset open. Open the ground truth on the Dataset page first.");
  return tr("%1 — %2 images, %3 classes")
      .arg(description_)
      .arg(dataset_->images.size())
      .arg(dataset_->categories.size());
}

void DatasetDocument::setDataset(studio::Dataset dataset, const QString& description) {
  auto loaded = std::make_unique<Loaded>();
  loaded->dataset = std::move(dataset);
  loaded->dataset.index();
  loaded->stats = studio::compute_stats(loaded->dataset);
  install(std::move(loaded), description, std::nullopt);
}

void DatasetDocument::install(std::unique_ptr<Loaded> loaded, const QString& description,
                              std::optional<studio::DatasetSpec> spec) {
  // The old report goes first, while the dataset it describes is still there for anyone
  // reading it in their handler.
  if (report_) {
    report_.reset();
    emit checkReportChanged();
  }
  dataset_ = std::make_unique<studio::Dataset>(std::move(loaded->dataset));
  // Moving a Dataset moves its lookup tables too, but rebuild them to not depend on that.
  dataset_->index();
  stats_ = std::make_unique<studio::DatasetStats>(std::move(loaded->stats));
  description_ = description;
  spec_ = std::move(spec);
  emit datasetChanged();
}

QString DatasetDocument::defaultDemoFolder() {
  QString base = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation);
  if (base.isEmpty() || !QDir().mkpath(base) || !QFileInfo(base).isWritable())
    base = QDir(QDir::tempPath()).filePath(QStringLiteral("studio"));
  return QDir(base).filePath(QStringLiteral("demo-shapes"));
}

}  // namespace studio::ui
