// InspectPage, first half: the inputs (dataset, a results file or a checkpoint and recipe to run
// inference with) and loading them, off the GUI thread. The image list and the viewer are in
// inspect_page.cpp.
#include <QCheckBox>
#include <QComboBox>
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
#include <QRegularExpression>
#include <QStandardPaths>
#include <QStyle>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>
#include <numeric>
#include <string_view>
#include <utility>

#include "annotation_overlay.h"
#include "background_job.h"
#include "class_colors.h"
#include "common/error.h"
#include "common/run_folder.h"
#include "data/coco_io.h"
#include "data/dataset_spec.h"
#include "dataset_argument.h"
#include "dataset_document.h"
#include "error_banner.h"
#include "inference_process.h"
#include "inspect_image_model.h"
#include "inspect_page.h"
#include "path_field.h"
#include "studio_cli.h"

namespace studio::ui {

using Style = PredictionViewer::Style;

namespace {

QGroupBox* group(const QString& title, QLayout* layout) {
  auto* box = new QGroupBox(title);
  box->setLayout(layout);
  return box;
}

}  // namespace

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
    const QString config = runRecipeOfCheckpoint(path);
    if (!path.isEmpty() && !config.isEmpty()) recipeField_->setPath(config);
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
  groundTruth_->setText(document_->groundTruthSummary());
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
  const QString name = predictionsFileName(checkpointField_->path(), recipeField_->path(), *document_);
  // Beside the run when it can be written there (it goes away with the run), else the user cache.
  QDir run(runFolderOfCheckpoint(checkpoint.absoluteFilePath()));
  const QFileInfo runInfo(run.absolutePath());
  if (runInfo.isDir() && runInfo.isWritable()) {
    const studio::RunFolder folder{run.path().toStdString()};
    return QDir(QString::fromStdString(folder.inspect_dir())).filePath(name);
  }
  return QDir(QStandardPaths::writableLocation(QStandardPaths::CacheLocation))
      .filePath(QLatin1String(studio::kInspectDirName) + QLatin1Char('/') + name);
}

void InspectPage::pruneInspectCache(const QString& kept, int keep) {
  // Entries are <checkpoint stem>-<12 hex>.json (with <...>-gt.json when the dataset had to be
  // written out). The same checkpoint name with another hash is an older last.pt, or another
  // recipe or dataset: all but the newest `keep` entries go, and every other entry of the kept
  // one's checkpoint name (it was rewritten; its old predictions will not be asked for again).
  static const QRegularExpression entry(QStringLiteral("^(.+)-([0-9a-f]{12})\\.json$"));
  const QFileInfo keptInfo(kept);
  const QDir dir = keptInfo.absoluteDir();
  const QString keptStem = entry.match(keptInfo.fileName()).captured(1);
  QFileInfoList entries;
  for (const QFileInfo& f : dir.entryInfoList({QStringLiteral("*.json")}, QDir::Files, QDir::Time))
    if (entry.match(f.fileName()).hasMatch()) entries << f;  // newest first
  int kept_count = 0;
  for (const QFileInfo& f : entries) {
    if (f.absoluteFilePath() == keptInfo.absoluteFilePath()) {
      ++kept_count;
      continue;
    }
    const bool sameCheckpoint = entry.match(f.fileName()).captured(1) == keptStem;
    if (!sameCheckpoint && kept_count < keep) {
      ++kept_count;
      continue;
    }
    QFile::remove(f.absoluteFilePath());
    QFile::remove(dir.filePath(f.completeBaseName() + QStringLiteral("-gt.json")));
  }
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
  try {
    args << inferDatasetArguments(*document_, cacheDir.absolutePath(), QFileInfo(target).completeBaseName());
  } catch (const std::exception& e) {
    showBanner(tr("Could not write the dataset for studio-cli: %1").arg(QString::fromStdString(e.what())));
    return;
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
          } catch (const studio::Error& bboxError) {
            // Read as masks, a box detector's file stops at its first detection for the mask it
            // never has; its real problem (an unknown image id, a bad box) is what reading it as
            // boxes found.
            const bool noMasks = std::string_view(segmError.what()).find(
                                     "missing required field \"segmentation\"") != std::string_view::npos;
            if (noMasks) throw bboxError;
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

}  // namespace studio::ui
