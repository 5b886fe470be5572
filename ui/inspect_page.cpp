#include "inspect_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImageReader>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QSlider>
#include <QSplitter>
#include <QStandardPaths>
#include <QStyle>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>
#include <numeric>
#include <utility>

#include "annotation_overlay.h"
#include "background_job.h"
#include "class_colors.h"
#include "common/error.h"
#include "data/coco_io.h"
#include "data/dataset_spec.h"
#include "dataset_document.h"
#include "error_banner.h"
#include "inference_process.h"
#include "inspect_image_model.h"
#include "path_field.h"
#include "studio_cli.h"

namespace studio::ui {

using GroundTruthMode = PredictionViewer::GroundTruthMode;
using Style = PredictionViewer::Style;

namespace {

constexpr int kSliderSteps = 100;  // threshold in 0.01 steps

QGroupBox* group(const QString& title, QLayout* layout) {
  auto* box = new QGroupBox(title);
  box->setLayout(layout);
  return box;
}

// The run folder of a checkpoint: runs/NAME/checkpoints/x.pt -> runs/NAME.
QDir runFolderOf(const QString& checkpoint) {
  QDir dir = QFileInfo(checkpoint).absoluteDir();
  if (dir.dirName() == QLatin1String("checkpoints")) dir.cdUp();
  return dir;
}

bool parsesAsDatasetToken(const QString& text) {
  try {
    (void)studio::parse_dataset_token(text.toStdString());
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

InspectPage::InspectPage(DatasetDocument* document, QWidget* parent)
    : QWidget(parent),
      document_(document),
      job_(new BackgroundJob(this)),
      inference_(new InferenceProcess(this)) {
  banner_ = makeErrorBanner();

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 8);
  layout->addWidget(buildInputs());
  layout->addWidget(banner_);
  layout->addWidget(buildView(), 1);

  connect(document_, &DatasetDocument::datasetChanged, this, &InspectPage::onDatasetChanged);
  connect(document_, &DatasetDocument::busyChanged, this, &InspectPage::updateInputs);
  const auto showProgress = [this](qint64 done, qint64 total, const QString& stage) {
    if (!stage.isEmpty()) stage_->setText(stage);
    progress_->setRange(0, total > 0 ? 1000 : 0);
    if (total > 0) progress_->setValue(int(1000 * done / total));
  };
  connect(job_, &BackgroundJob::progress, this, showProgress);
  connect(inference_, &InferenceProcess::progress, this, showProgress);
  connect(inference_, &InferenceProcess::failed, this, [this](const QString& message) {
    setBusy(false);
    showBanner(message);
    emit inferenceFinished(false);
  });
  connect(inference_, &InferenceProcess::cancelled, this, [this] {
    setBusy(false);
    emit inferenceFinished(false);
  });
  connect(inference_, &InferenceProcess::succeeded, this, [this](const QString& target) {
    setBusy(false);
    emit inferenceFinished(true);
    loadResultsFile(target, QFileInfo(checkpointField_->path()).fileName());
  });
  connect(job_, &BackgroundJob::failed, this, [this](const QString& message) {
    setBusy(false);
    showBanner(tr("Could not load the predictions: %1").arg(message));
    emit loadFailed(message);
  });
  connect(job_, &BackgroundJob::cancelled, this, [this] {
    setBusy(false);
    stage_->setText(tr("Cancelled"));
  });

  onDatasetChanged();
  setBusy(false);
}

InspectPage::~InspectPage() = default;

QWidget* InspectPage::buildInputs() {
  groundTruth_ = new QLabel;
  groundTruth_->setWordWrap(true);

  fromResults_ = new QRadioButton(tr("Results file"));
  fromResults_->setChecked(true);
  resultsField_ = new PathField(PathField::Kind::File, tr("COCO results file"),
                                tr("COCO results JSON (*.json);;All files (*)"));
  resultsField_->setPlaceholderText(
      tr("a COCO results JSON (studio-cli infer --out, detectron2, mmdetection)"));
  auto* resultsRow = new QHBoxLayout;
  resultsRow->addWidget(fromResults_);
  resultsRow->addWidget(resultsField_, 1);

  fromCheckpoint_ = new QRadioButton(tr("Checkpoint"));
  checkpointField_ =
      new PathField(PathField::Kind::File, tr("Checkpoint"), tr("Checkpoints (*.pt);;All files (*)"));
  checkpointField_->setPlaceholderText(tr("runs/NAME/checkpoints/best.pt"));
  recipeField_ =
      new PathField(PathField::Kind::File, tr("Recipe"), tr("Recipes (*.yaml *.yml);;All files (*)"));
  recipeField_->setPlaceholderText(tr("the run's config.yaml"));
  siblings_ = new QComboBox;
  siblings_->setToolTip(tr("The checkpoints of this run, newest first"));
  siblings_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  siblings_->setEnabled(false);
  auto* checkpointRow = new QHBoxLayout;
  checkpointRow->addWidget(fromCheckpoint_);
  checkpointRow->addWidget(checkpointField_, 3);
  checkpointRow->addWidget(siblings_);
  checkpointRow->addWidget(new QLabel(tr("Recipe")));
  checkpointRow->addWidget(recipeField_, 2);

  loadButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("Show predictions"));
  loadButton_->setDefault(true);
  stage_ = new QLabel;
  progress_ = new QProgressBar;
  progress_->setFixedWidth(200);
  cancelButton_ = new QPushButton(tr("Cancel"));
  loadedLabel_ = new QLabel;
  loadedLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* actions = new QHBoxLayout;
  actions->addWidget(loadButton_);
  actions->addWidget(stage_);
  actions->addWidget(progress_);
  actions->addWidget(cancelButton_);
  actions->addWidget(loadedLabel_, 1);

  auto* form = new QFormLayout;
  form->setContentsMargins(8, 6, 8, 8);
  form->addRow(tr("Ground truth"), groundTruth_);
  form->addRow(tr("Predictions"), resultsRow);
  form->addRow(QString(), checkpointRow);
  form->addRow(QString(), actions);

  connect(fromResults_, &QRadioButton::toggled, this, &InspectPage::updateInputs);
  connect(resultsField_, &PathField::pathChanged, this, [this] {
    if (!resultsField_->path().isEmpty()) fromResults_->setChecked(true);
    updateInputs();
  });
  connect(checkpointField_, &PathField::pathChanged, this, [this](const QString& path) {
    if (!path.isEmpty()) fromCheckpoint_->setChecked(true);
    // The recipe a run was trained with sits in its folder.
    const QString config = runFolderOf(path).filePath(QStringLiteral("config.yaml"));
    if (!path.isEmpty() && QFileInfo(config).isFile()) recipeField_->setPath(config);
    // The run's other checkpoints (best, last, epoch_N), newest first.
    const QFileInfo chosen(path);
    const QSignalBlocker blocker(siblings_);
    siblings_->clear();
    if (chosen.isFile()) {
      const QFileInfoList files =
          chosen.absoluteDir().entryInfoList({QStringLiteral("*.pt")}, QDir::Files, QDir::Time);
      for (const QFileInfo& file : files) siblings_->addItem(file.fileName(), file.absoluteFilePath());
      siblings_->setCurrentIndex(siblings_->findText(chosen.fileName()));
    }
    siblings_->setEnabled(siblings_->count() > 1);
    updateInputs();
  });
  connect(siblings_, &QComboBox::activated, this,
          [this](int index) { checkpointField_->setPath(siblings_->itemData(index).toString()); });
  connect(recipeField_, &PathField::pathChanged, this, &InspectPage::updateInputs);
  connect(loadButton_, &QPushButton::clicked, this, &InspectPage::load);
  connect(cancelButton_, &QPushButton::clicked, this, &InspectPage::cancel);
  return group(tr("Inspect predictions"), form);
}

QWidget* InspectPage::buildView() {
  threshold_ = new QSlider(Qt::Horizontal);
  threshold_->setRange(0, kSliderSteps);
  threshold_->setValue(50);
  threshold_->setMinimumWidth(160);
  threshold_->setToolTip(tr("Lowest score shown and matched"));
  thresholdValue_ = new QLabel(QStringLiteral("0.50"));
  thresholdValue_->setMinimumWidth(thresholdValue_->fontMetrics().horizontalAdvance(QStringLiteral("0.000")));
  classFilter_ = new QComboBox;
  classFilter_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  classFilter_->setMinimumContentsLength(12);
  gtMode_ = new QComboBox;
  gtMode_->addItem(tr("over the predictions"), int(GroundTruthMode::Over));
  gtMode_->addItem(tr("beside the predictions"), int(GroundTruthMode::Beside));
  gtMode_->addItem(tr("hidden"), int(GroundTruthMode::Hidden));
  labels_ = new QCheckBox(tr("Labels"));
  labels_->setChecked(true);
  exportButton_ = new QPushButton(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("Export PNG…"));
  exportButton_->setToolTip(tr("Save the view as shown (both panes when the ground truth is beside)"));

  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("Score ≥")));
  controls->addWidget(threshold_);
  controls->addWidget(thresholdValue_);
  controls->addSpacing(10);
  controls->addWidget(new QLabel(tr("Class")));
  controls->addWidget(classFilter_);
  controls->addSpacing(10);
  controls->addWidget(new QLabel(tr("Ground truth")));
  controls->addWidget(gtMode_);
  controls->addWidget(labels_);
  controls->addStretch(1);
  controls->addWidget(exportButton_);

  // The legend: what each line style means.
  auto* legend = new QHBoxLayout;
  legend->setSpacing(4);
  const std::pair<Style, QString> entries[] = {
      {Style::TruePositive, tr("true positive")}, {Style::FalsePositive, tr("false positive")},
      {Style::Missed, tr("missed object")},       {Style::Ignored, tr("on a crowd region (ignored)")},
      {Style::GroundTruth, tr("ground truth")},
  };
  for (const auto& [style, text] : entries) {
    auto* sample = new QLabel;
    sample->setPixmap(PredictionViewer::styleSample(style));
    legend->addWidget(sample);
    legend->addWidget(new QLabel(text));
    legend->addSpacing(10);
  }
  legend->addStretch(1);
  auto* iouNote = new QLabel(tr("matched at IoU ≥ 0.5 (masks when both have one)"));
  iouNote->setEnabled(false);
  legend->addWidget(iouNote);

  sortOrder_ = new QComboBox;
  sortOrder_->addItem(tr("file order"), int(SortOrder::FileOrder));
  sortOrder_->addItem(tr("most errors first"), int(SortOrder::MostErrors));
  sortOrder_->addItem(tr("lowest F1 first"), int(SortOrder::LowestQuality));
  model_ = new InspectImageModel(this);
  list_ = new QTableView;
  list_->setModel(model_);
  list_->setSelectionBehavior(QAbstractItemView::SelectRows);
  list_->setSelectionMode(QAbstractItemView::SingleSelection);
  list_->verticalHeader()->setVisible(false);
  list_->verticalHeader()->setDefaultSectionSize(list_->fontMetrics().height() + 6);
  list_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  list_->horizontalHeader()->setSectionResizeMode(InspectImageModel::Image, QHeaderView::Stretch);
  list_->setAlternatingRowColors(true);
  totalsLabel_ = new QLabel;
  totalsLabel_->setObjectName(QStringLiteral("inspectTotals"));
  auto* sortRow = new QHBoxLayout;
  sortRow->addWidget(new QLabel(tr("Sort")));
  sortRow->addWidget(sortOrder_, 1);
  auto* left = new QWidget;
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  leftLayout->addLayout(sortRow);
  leftLayout->addWidget(list_, 1);
  leftLayout->addWidget(totalsLabel_);

  viewer_ = new PredictionViewer;
  imageCaption_ = new QLabel;
  imageCaption_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* right = new QWidget;
  auto* rightLayout = new QVBoxLayout(right);
  rightLayout->setContentsMargins(0, 0, 0, 0);
  rightLayout->addWidget(viewer_, 1);
  rightLayout->addWidget(imageCaption_);

  auto* splitter = new QSplitter(Qt::Horizontal);
  splitter->addWidget(left);
  splitter->addWidget(right);
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setSizes({330, 900});
  splitter->setChildrenCollapsible(false);

  auto* page = new QWidget;
  auto* layout = new QVBoxLayout(page);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(controls);
  layout->addLayout(legend);
  layout->addWidget(splitter, 1);

  connect(threshold_, &QSlider::valueChanged, this, [this](int value) {
    thresholdValue_->setText(QString::number(value / double(kSliderSteps), 'f', 2));
    rematch();
  });
  connect(classFilter_, &QComboBox::currentIndexChanged, this, [this] { rematch(); });
  connect(gtMode_, &QComboBox::currentIndexChanged, this, [this] {
    viewer_->setGroundTruthMode(static_cast<GroundTruthMode>(gtMode_->currentData().toInt()));
  });
  connect(labels_, &QCheckBox::toggled, viewer_, &PredictionViewer::setLabelsVisible);
  connect(sortOrder_, &QComboBox::currentIndexChanged, this, &InspectPage::resort);
  connect(list_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& current) {
            if (current.isValid()) showImageAtIndex(model_->imageIndexAt(current.row()));
          });
  connect(viewer_, &PredictionViewer::nextRequested, this, [this] {
    const int row = list_->currentIndex().row();
    if (row + 1 < model_->rowCount({})) list_->setCurrentIndex(model_->index(row + 1, 0));
  });
  connect(viewer_, &PredictionViewer::previousRequested, this, [this] {
    const int row = list_->currentIndex().row();
    if (row > 0) list_->setCurrentIndex(model_->index(row - 1, 0));
  });
  connect(exportButton_, &QPushButton::clicked, this, &InspectPage::exportWithDialog);
  return page;
}

// ---- inputs ----

void InspectPage::setSource(Source source) {
  (source == Source::ResultsFile ? fromResults_ : fromCheckpoint_)->setChecked(true);
}

void InspectPage::setResultsPath(const QString& path) { resultsField_->setPath(path); }

void InspectPage::setCheckpointPath(const QString& path) { checkpointField_->setPath(path); }

void InspectPage::setRecipePath(const QString& path) { recipeField_->setPath(path); }

QString InspectPage::recipePath() const { return recipeField_->path(); }

QStringList InspectPage::lastInferenceArguments() const { return inference_->lastArguments(); }

QString InspectPage::errorText() const { return banner_->isHidden() ? QString() : banner_->text(); }

bool InspectPage::isBusy() const {
  return job_->isRunning() || inference_->isRunning();
}

void InspectPage::showBanner(const QString& message) {
  banner_->setText(message);
  banner_->setVisible(true);
}

void InspectPage::onDatasetChanged() {
  const bool has = document_->hasDataset();
  groundTruth_->setText(has ? tr("%1 — %2 images, %3 classes")
                                  .arg(document_->description())
                                  .arg(document_->dataset().images.size())
                                  .arg(document_->dataset().categories.size())
                            : tr("No dataset open. Open the ground truth on the Dataset page first."));
  // Predictions matched against another ground truth would be wrong next to the new one.
  clearPredictions();
  banner_->setVisible(false);
  updateInputs();
}

void InspectPage::updateInputs() {
  const bool busy = isBusy();
  const bool results = fromResults_->isChecked();
  resultsField_->setEnabled(!busy);
  checkpointField_->setEnabled(!busy);
  recipeField_->setEnabled(!busy);
  const bool ready = results ? !resultsField_->path().isEmpty()
                             : !checkpointField_->path().isEmpty() && !recipeField_->path().isEmpty();
  loadButton_->setEnabled(!busy && ready && document_->hasDataset() && !document_->isBusy());
  loadButton_->setText(results ? tr("Show predictions") : tr("Predict and show"));
  exportButton_->setEnabled(imageIndex_ >= 0);
}

void InspectPage::setBusy(bool busy, const QString& stage) {
  stage_->setVisible(busy);
  progress_->setVisible(busy);
  cancelButton_->setVisible(busy);
  if (busy) {
    stage_->setText(stage);
    progress_->setRange(0, 0);
  }
  updateInputs();
}

void InspectPage::load() {
  banner_->setVisible(false);
  if (isBusy()) return;
  if (!document_->hasDataset()) {
    showBanner(tr("Open the ground truth dataset on the Dataset page first."));
    return;
  }
  if (fromResults_->isChecked()) {
    const QString path = resultsField_->path();
    if (path.isEmpty()) return showBanner(tr("Pick a results file (a COCO results JSON)."));
    if (!QFileInfo(path).isFile()) return showBanner(tr("The results file %1 does not exist.").arg(path));
    loadResultsFile(path, QFileInfo(path).fileName());
    return;
  }
  const QString checkpoint = checkpointField_->path();
  if (!QFileInfo(checkpoint).isFile())
    return showBanner(tr("The checkpoint %1 does not exist.").arg(checkpoint));
  if (!QFileInfo(recipeField_->path()).isFile())
    return showBanner(tr("The recipe %1 does not exist; pick the config.yaml the run was trained with.")
                          .arg(recipeField_->path()));
  const QString cached = cachedResultsPath();
  if (QFileInfo(cached).isFile()) {
    loadResultsFile(cached, tr("%1 (cached predictions)").arg(QFileInfo(checkpoint).fileName()));
    return;
  }
  startInference();
}

void InspectPage::cancel() {
  if (inference_->isRunning()) return inference_->cancel();
  job_->cancel();
}

QString InspectPage::cachedResultsPath() const {
  const QFileInfo checkpoint(checkpointField_->path());
  if (!document_->hasDataset() || checkpointField_->path().isEmpty()) return {};
  // A new checkpoint written over the old one (last.pt) has a new time and size; another
  // recipe or dataset gives other predictions.
  QCryptographicHash hash(QCryptographicHash::Sha1);
  const studio::Dataset& ds = document_->dataset();
  for (const QString& part :
       {checkpoint.absoluteFilePath(), QString::number(checkpoint.lastModified().toMSecsSinceEpoch()),
        QString::number(checkpoint.size()), QFileInfo(recipeField_->path()).absoluteFilePath(),
        QString::number(QFileInfo(recipeField_->path()).lastModified().toMSecsSinceEpoch()),
        document_->description(), QString::number(ds.images.size()), QString::number(ds.annotations.size())})
    hash.addData(part.toUtf8() + '\n');
  const QString name =
      QStringLiteral("%1-%2.json")
          .arg(checkpoint.completeBaseName(), QString::fromLatin1(hash.result().toHex().left(12)));
  // Beside the run when it can be written there (it goes away with the run), else the user cache.
  QDir run = runFolderOf(checkpoint.absoluteFilePath());
  const QFileInfo runInfo(run.absolutePath());
  if (runInfo.isDir() && runInfo.isWritable()) return run.filePath(QStringLiteral("inspect/") + name);
  return QDir(QStandardPaths::writableLocation(QStandardPaths::CacheLocation))
      .filePath(QStringLiteral("inspect/") + name);
}

void InspectPage::startInference() {
  const QString cli = findStudioCli();
  if (cli.isEmpty()) {
    showBanner(tr("studio-cli was not found next to this program or on PATH (set STUDIO_CLI to its path)."));
    return;
  }
  const QString target = cachedResultsPath();
  const QDir cacheDir = QFileInfo(target).absoluteDir();
  if (!QDir().mkpath(cacheDir.absolutePath())) {
    showBanner(tr("Cannot create the folder %1 for the predictions.").arg(cacheDir.absolutePath()));
    return;
  }

  QStringList args{QStringLiteral("infer"), QStringLiteral("--config"), recipeField_->path(),
                   QStringLiteral("--weights"), checkpointField_->path()};
  // The open dataset as the command line names it; a dataset with no such name (the demo, an
  // imported one) is written beside the predictions as COCO JSON.
  const studio::Dataset& ds = document_->dataset();
  if (parsesAsDatasetToken(document_->description())) {
    args << document_->description();
  } else {
    const QString gtPath =
        cacheDir.filePath(QFileInfo(target).completeBaseName() + QStringLiteral("-gt.json"));
    try {
      studio::write_coco(ds, gtPath.toStdString());
    } catch (const std::exception& e) {
      showBanner(tr("Could not write the dataset for studio-cli: %1").arg(QString::fromStdString(e.what())));
      return;
    }
    args << QStringLiteral("--coco") << gtPath << QStringLiteral("--images")
         << QString::fromStdString(ds.image_root);
  }
  setBusy(true, tr("Starting studio-cli infer…"));
  inference_->start(cli, args, target);
  updateInputs();
}

void InspectPage::loadResultsFile(const QString& path, const QString& origin) {
  auto gt = std::make_shared<studio::Dataset>(document_->dataset());
  gt->index();
  struct Loaded {
    std::vector<studio::ImageMatcher> matchers;
    std::size_t detections = 0;
  };
  auto loaded = std::make_shared<Loaded>();
  const std::string file = path.toStdString();
  setBusy(true, tr("Reading %1…").arg(QFileInfo(path).fileName()));
  job_->start(
      [gt, loaded, file](const studio::Progress& progress) {
        // Mask results (studio-cli infer, detectron2 segm) when the file has them, else boxes.
        std::vector<studio::Detection> dets;
        try {
          dets = studio::read_coco_results(file, *gt, studio::IouType::Segm);
        } catch (const studio::Error& segmError) {
          try {
            dets = studio::read_coco_results(file, *gt, studio::IouType::Bbox);
          } catch (const studio::Error&) {
            throw segmError;
          }
        }
        progress.check_cancel();
        loaded->detections = dets.size();
        loaded->matchers = studio::make_image_matchers(*gt, dets, progress);
      },
      [this, gt, loaded, origin] {
        setBusy(false);
        clearPredictions();
        gt_ = gt;
        matchers_ = std::make_shared<const std::vector<studio::ImageMatcher>>(std::move(loaded->matchers));
        detectionCount_ = loaded->detections;
        loadedFrom_ = origin;
        loadedLabel_->setText(tr("<b>%1</b>: %2 predictions on %3 images")
                                  .arg(origin.toHtmlEscaped())
                                  .arg(detectionCount_)
                                  .arg(gt_->images.size()));
        // The class filter lists the classes of the ground truth matched against.
        {
          const QSignalBlocker blocker(classFilter_);
          classFilter_->clear();
          classFilter_->addItem(tr("All classes"), QVariant());
          for (std::size_t i = 0; i < gt_->categories.size(); ++i)
            classFilter_->addItem(classSwatch(int(i)), QString::fromStdString(gt_->categories[i].name),
                                  QVariant::fromValue<qlonglong>(gt_->categories[i].id));
        }
        rematch();
        if (!gt_->images.empty()) list_->setCurrentIndex(model_->index(0, 0));
        updateInputs();
        emit predictionsLoaded();
      });
}

// ---- view ----

void InspectPage::clearPredictions() {
  gt_.reset();
  matchers_.reset();
  matches_.clear();
  totals_ = {};
  imageIndex_ = -1;
  predictionItems_.clear();
  groundTruthItems_.clear();
  model_->set(nullptr, nullptr, {});
  viewer_->clear();
  loadedLabel_->clear();
  totalsLabel_->clear();
  imageCaption_->clear();
  updateInputs();
}

studio::MatchOptions InspectPage::matchOptions() const {
  studio::MatchOptions o;
  o.score_threshold = threshold_->value() / double(kSliderSteps);
  o.iou_threshold = 0.5;
  const QVariant category = classFilter_->currentData();
  if (category.isValid()) o.category_id = category.toLongLong();
  return o;
}

void InspectPage::setScoreThreshold(double threshold) {
  threshold_->setValue(int(std::lround(std::clamp(threshold, 0.0, 1.0) * kSliderSteps)));
}

double InspectPage::scoreThreshold() const { return threshold_->value() / double(kSliderSteps); }

void InspectPage::setClassFilter(std::optional<std::int64_t> categoryId) {
  const int index = categoryId ? classFilter_->findData(QVariant::fromValue<qlonglong>(*categoryId)) : 0;
  if (index >= 0) classFilter_->setCurrentIndex(index);
}

void InspectPage::setGroundTruthMode(GroundTruthMode mode) {
  gtMode_->setCurrentIndex(gtMode_->findData(int(mode)));
}

void InspectPage::setSortOrder(SortOrder order) {
  sortOrder_->setCurrentIndex(sortOrder_->findData(int(order)));
}

void InspectPage::rematch() {
  if (!matchers_) return;
  const studio::MatchOptions options = matchOptions();
  matches_.resize(matchers_->size());
  for (std::size_t i = 0; i < matchers_->size(); ++i) matches_[i] = (*matchers_)[i].match(options);
  updateTotals();
  resort();
}

void InspectPage::updateTotals() {
  totals_ = {};
  for (const auto& m : matches_) {
    totals_.truePositives += m.true_positives;
    totals_.falsePositives += m.false_positives;
    totals_.missed += m.missed_count();
    totals_.ignored += m.ignored;
  }
  const int found = totals_.truePositives + totals_.falsePositives;
  const int objects = totals_.truePositives + totals_.missed;
  totalsLabel_->setText(
      tr("At score ≥ %1: <b>%2</b> TP, <b>%3</b> FP, <b>%4</b> missed<br>precision %5, recall %6")
          .arg(scoreThreshold(), 0, 'f', 2)
          .arg(totals_.truePositives)
          .arg(totals_.falsePositives)
          .arg(totals_.missed)
          .arg(found ? QString::number(double(totals_.truePositives) / found, 'f', 3) : QStringLiteral("–"))
          .arg(objects ? QString::number(double(totals_.truePositives) / objects, 'f', 3)
                       : QStringLiteral("–")));
}

void InspectPage::resort() {
  if (!gt_) return;
  std::vector<int> order(gt_->images.size());
  std::iota(order.begin(), order.end(), 0);
  const auto sort = static_cast<SortOrder>(sortOrder_->currentData().toInt());
  const auto& m = matches_;
  if (sort == SortOrder::MostErrors)
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      if (m[a].errors() != m[b].errors()) return m[a].errors() > m[b].errors();
      return m[a].quality() < m[b].quality();
    });
  else if (sort == SortOrder::LowestQuality)
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      if (m[a].quality() != m[b].quality()) return m[a].quality() < m[b].quality();
      return m[a].errors() > m[b].errors();
    });
  // The image on screen stays on screen and selected wherever it moves in the list.
  const int current = imageIndex_;
  {
    const QSignalBlocker blocker(list_->selectionModel());
    model_->set(gt_.get(), &matches_, std::move(order));
    if (current >= 0) list_->setCurrentIndex(model_->index(model_->rowOf(current), 0));
  }
  if (current >= 0) {
    list_->scrollTo(list_->currentIndex());
    refreshViewer();
  }
}

int InspectPage::imageRows() const { return model_->rowCount({}); }

std::int64_t InspectPage::imageIdAtRow(int row) const {
  const int index = model_->imageIndexAt(row);
  return index >= 0 && gt_ ? gt_->images[std::size_t(index)].id : -1;
}

const studio::ImageMatch* InspectPage::matchOf(std::int64_t imageId) const {
  if (!gt_) return nullptr;
  for (std::size_t i = 0; i < gt_->images.size(); ++i)
    if (gt_->images[i].id == imageId && i < matches_.size()) return &matches_[i];
  return nullptr;
}

bool InspectPage::showImage(std::int64_t imageId) {
  if (!gt_) return false;
  for (std::size_t i = 0; i < gt_->images.size(); ++i)
    if (gt_->images[i].id == imageId) {
      list_->setCurrentIndex(model_->index(model_->rowOf(int(i)), 0));
      return true;
    }
  return false;
}

std::optional<std::int64_t> InspectPage::currentImageId() const {
  if (!gt_ || imageIndex_ < 0) return std::nullopt;
  return gt_->images[std::size_t(imageIndex_)].id;
}

void InspectPage::showImageAtIndex(int imageIndex) {
  if (!gt_ || !matchers_ || imageIndex < 0 || imageIndex >= int(gt_->images.size())) return;
  if (imageIndex == imageIndex_) return;
  imageIndex_ = imageIndex;
  const studio::ImageInfo& info = gt_->images[std::size_t(imageIndex)];
  const QString path = QString::fromStdString(gt_->image_path(info));
  QImageReader reader(path);
  reader.setAutoTransform(true);
  const QImage image = reader.read();
  viewer_->setImage(image, QSize(info.width, info.height),
                    image.isNull() ? tr("Image not found: %1").arg(path) : QString());

  // Prediction items are built when first shown (decoding every mask of an image up front
  // would cost the time a low threshold may never need); ground truth items now.
  const studio::ImageMatcher& matcher = (*matchers_)[std::size_t(imageIndex)];
  predictionItems_.assign(matcher.detections().size(), std::nullopt);
  groundTruthItems_.clear();
  for (std::size_t index : matcher.annotations()) {
    const studio::Annotation& a = gt_->annotations[index];
    PredictionViewer::Item item;
    item.box = QRectF(a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]);
    item.color = classColor(gt_->category_index(a.category_id));
    const studio::Category* category = gt_->category_by_id(a.category_id);
    item.label = category ? QString::fromStdString(category->name) : tr("class %1").arg(a.category_id);
    if (a.iscrowd) item.label += tr(" (crowd)");
    if (!a.polygons.empty()) {
      item.fill = polygonsToPath(a.polygons);
      item.contour = item.fill;
    } else if (a.rle) {
      const std::vector<std::uint8_t> bits = studio::rle_decode(*a.rle);
      PredictionViewer::setMaskFromBits(item, bits.data(), int(a.rle->w), int(a.rle->h));
    }
    groundTruthItems_.push_back(std::move(item));
  }
  refreshViewer();
  updateInputs();
}

const PredictionViewer::Item& InspectPage::predictionItem(std::size_t detection) {
  auto& slot = predictionItems_[detection];
  if (!slot) {
    const studio::Detection& d = (*matchers_)[std::size_t(imageIndex_)].detections()[detection];
    PredictionViewer::Item item;
    item.box = QRectF(d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3]);
    item.color = classColor(gt_->category_index(d.category_id));
    const studio::Category* category = gt_->category_by_id(d.category_id);
    item.label =
        QStringLiteral("%1 %2")
            .arg(category ? QString::fromStdString(category->name) : tr("class %1").arg(d.category_id))
            .arg(d.score, 0, 'f', 2);
    if (d.segm) {
      const std::vector<std::uint8_t> bits = studio::rle_decode(*d.segm);
      PredictionViewer::setMaskFromBits(item, bits.data(), int(d.segm->w), int(d.segm->h));
    }
    slot = std::move(item);
  }
  return *slot;
}

void InspectPage::refreshViewer() {
  if (!gt_ || imageIndex_ < 0 || std::size_t(imageIndex_) >= matches_.size()) return;
  const studio::ImageMatch& match = matches_[std::size_t(imageIndex_)];
  std::vector<PredictionViewer::Item> predictions;
  predictions.reserve(match.predictions.size());
  for (const studio::PredictionMatch& p : match.predictions) {
    PredictionViewer::Item item = predictionItem(p.detection);
    switch (p.outcome) {
      case studio::MatchOutcome::TruePositive:
        item.style = Style::TruePositive;
        break;
      case studio::MatchOutcome::Ignored:
        item.style = Style::Ignored;
        item.label += tr(" (crowd)");
        break;
      case studio::MatchOutcome::FalsePositive:
        item.style = Style::FalsePositive;
        item.label += QStringLiteral(" · ") + tr(studio::false_positive_reason_name(p.reason));
        break;
    }
    predictions.push_back(std::move(item));
  }
  const studio::MatchOptions options = matchOptions();
  const studio::ImageMatcher& matcher = (*matchers_)[std::size_t(imageIndex_)];
  std::vector<PredictionViewer::Item> groundTruth;
  for (std::size_t g = 0; g < matcher.annotations().size(); ++g) {
    const std::size_t index = matcher.annotations()[g];
    const studio::Annotation& a = gt_->annotations[index];
    if (options.category_id && a.category_id != *options.category_id) continue;
    PredictionViewer::Item item = groundTruthItems_[g];
    const bool missed = std::find(match.missed.begin(), match.missed.end(), index) != match.missed.end();
    item.style = missed ? Style::Missed : Style::GroundTruth;
    if (missed) item.label = tr("missed %1").arg(item.label);
    groundTruth.push_back(std::move(item));
  }
  viewer_->setItems(std::move(predictions), std::move(groundTruth));

  const studio::ImageInfo& info = gt_->images[std::size_t(imageIndex_)];
  int duplicates = 0, wrongClass = 0, background = 0;
  for (const auto& p : match.predictions) {
    duplicates += p.reason == studio::FalsePositiveReason::Duplicate;
    wrongClass += p.reason == studio::FalsePositiveReason::WrongClass;
    background += p.reason == studio::FalsePositiveReason::Background;
  }
  imageCaption_->setText(tr("<b>%1</b> (id %2) — %3 TP, %4 FP (%5 duplicate, %6 wrong class, %7 background), "
                            "%8 missed, F1 %9")
                             .arg(QString::fromStdString(info.file_name).toHtmlEscaped())
                             .arg(info.id)
                             .arg(match.true_positives)
                             .arg(match.false_positives)
                             .arg(duplicates)
                             .arg(wrongClass)
                             .arg(background)
                             .arg(match.missed_count())
                             .arg(match.quality(), 0, 'f', 2));
}

bool InspectPage::exportPng(const QString& path) {
  const QImage image = viewer_->grab().toImage();
  if (image.isNull() || !image.save(path, "PNG")) {
    showBanner(tr("Could not write %1.").arg(path));
    return false;
  }
  return true;
}

void InspectPage::exportWithDialog() {
  if (!gt_ || imageIndex_ < 0) return;
  const QString stem =
      QFileInfo(QString::fromStdString(gt_->images[std::size_t(imageIndex_)].file_name)).completeBaseName();
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export view as PNG"), QDir::home().filePath(stem + QStringLiteral("_inspect.png")),
      tr("PNG image (*.png)"));
  if (!path.isEmpty()) exportPng(path);
}

}  // namespace studio::ui
