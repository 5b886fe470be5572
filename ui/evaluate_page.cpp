#include "evaluate_page.h"

#include <QButtonGroup>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardPaths>
#include <QStyle>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <exception>

#include "category_metrics_model.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "confusion_matrix_view.h"
#include "dataset_argument.h"
#include "dataset_document.h"
#include "error_banner.h"
#include "evaluation_job.h"
#include "inference_process.h"
#include "path_field.h"
#include "pr_curve_plot.h"
#include "studio_cli.h"

namespace studio::ui {

namespace {

// What each of the 12 numbers means, in pycocotools' words, for the summary's tooltips.
const char* const kSummaryMeaning[12] = {
    "Average precision, IoU 0.50:0.95, all areas, 100 detections per image",
    "Average precision, IoU 0.50",
    "Average precision, IoU 0.75",
    "Average precision, small objects (area < 32²)",
    "Average precision, medium objects (32² to 96²)",
    "Average precision, large objects (area > 96²)",
    "Average recall, 1 detection per image",
    "Average recall, 10 detections per image",
    "Average recall, 100 detections per image",
    "Average recall, small objects",
    "Average recall, medium objects",
    "Average recall, large objects",
};

QGroupBox* group(const QString& title, QWidget* content) {
  auto* box = new QGroupBox(title);
  auto* layout = new QVBoxLayout(box);
  layout->setContentsMargins(8, 6, 8, 8);
  layout->addWidget(content);
  return box;
}

QTableWidgetItem* cell(const QString& text, Qt::Alignment alignment) {
  auto* item = new QTableWidgetItem(text);
  item->setTextAlignment(alignment | Qt::AlignVCenter);
  return item;
}

}  // namespace

EvaluatePage::EvaluatePage(DatasetDocument* document, QWidget* parent)
    : QWidget(parent), document_(document), job_(new EvaluationJob(this)), inference_(new InferenceProcess(this)) {
  banner_ = makeErrorBanner();

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 8);
  layout->addWidget(buildInputs());
  layout->addWidget(banner_);
  layout->addWidget(buildResults(), 1);

  connect(job_, &EvaluationJob::runningChanged, this, &EvaluatePage::onRunningChanged);
  connect(job_, &EvaluationJob::progress, this, &EvaluatePage::onProgress);
  connect(job_, &EvaluationJob::finished, this, &EvaluatePage::onFinished);
  connect(job_, &EvaluationJob::failed, this,
          [this](const QString& message) { showBanner(tr("Evaluation failed: %1").arg(message)); });
  connect(job_, &EvaluationJob::cancelled, this, [this] { stage_->setText(tr("Cancelled")); });
  connect(document_, &DatasetDocument::datasetChanged, this, &EvaluatePage::onDatasetChanged);
  connect(document_, &DatasetDocument::busyChanged, this, &EvaluatePage::updateButtons);
  connect(resultsField_, &PathField::pathChanged, this, [this](const QString& path) {
    if (!path.isEmpty() && !inference_->isRunning()) fromResults_->setChecked(true);
    updateButtons();
  });
  connect(checkpointField_, &PathField::pathChanged, this, [this](const QString& path) {
    if (!path.isEmpty()) fromCheckpoint_->setChecked(true);
    const QString recipe = runRecipeOfCheckpoint(path);  // the run's own, beside its checkpoints
    if (!recipe.isEmpty()) recipeField_->setPath(recipe);
    updateButtons();
  });
  connect(recipeField_, &PathField::pathChanged, this, &EvaluatePage::updateButtons);
  connect(fromResults_, &QRadioButton::toggled, this, &EvaluatePage::updateButtons);
  connect(inference_, &InferenceProcess::progress, this, &EvaluatePage::onProgress);
  connect(inference_, &InferenceProcess::succeeded, this, [this](const QString& target) {
    onRunningChanged(false);
    evaluateFile(target);
  });
  connect(inference_, &InferenceProcess::failed, this, [this](const QString& message) {
    onRunningChanged(false);
    showBanner(tr("studio-cli infer failed: %1").arg(message));
  });
  connect(inference_, &InferenceProcess::cancelled, this, [this] {
    onRunningChanged(false);
    stage_->setText(tr("Cancelled"));
  });
  connect(metric_, &QComboBox::currentIndexChanged, this, &EvaluatePage::showVocMethod);
  connect(metric_, &QComboBox::activated, this, [this] { chosenMetric_ = metric(); });
  connect(evaluateButton_, &QPushButton::clicked, this, &EvaluatePage::evaluate);
  connect(cancelButton_, &QPushButton::clicked, this, &EvaluatePage::cancel);
  connect(saveButton_, &QPushButton::clicked, this, &EvaluatePage::saveMetricsWithDialog);
  connect(addButton_, &QPushButton::clicked, this, &EvaluatePage::addToResults);

  onDatasetChanged();
  onRunningChanged(false);
}

QWidget* EvaluatePage::buildInputs() {
  groundTruth_ = new QLabel;
  groundTruth_->setWordWrap(true);
  groundTruth_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  fromResults_ = new QRadioButton(tr("Results file"));
  fromResults_->setChecked(true);
  resultsField_ = new PathField(PathField::Kind::File, tr("COCO results file"),
                                tr("COCO results JSON (*.json);;All files (*)"));
  resultsField_->setPlaceholderText(
      tr("detections as a COCO results JSON (image_id, category_id, bbox, score)"));
  auto* resultsRow = new QHBoxLayout;
  resultsRow->addWidget(fromResults_);
  resultsRow->addWidget(resultsField_, 1);

  // A checkpoint: `studio-cli infer` writes its predictions on the open dataset (kept in the user
  // cache, per checkpoint version, recipe and dataset), which are then scored as a results file.
  fromCheckpoint_ = new QRadioButton(tr("Checkpoint"));
  checkpointField_ = new PathField(PathField::Kind::File, tr("Checkpoint"), tr("Checkpoints (*.pt);;All files (*)"));
  checkpointField_->setPlaceholderText(tr("runs/NAME/checkpoints/best.pt"));
  recipeField_ = new PathField(PathField::Kind::File, tr("Recipe"), tr("Recipes (*.yaml *.yml);;All files (*)"));
  recipeField_->setPlaceholderText(tr("the run's config.yaml"));
  auto* checkpointRow = new QHBoxLayout;
  checkpointRow->addWidget(fromCheckpoint_);
  checkpointRow->addWidget(checkpointField_, 2);
  checkpointRow->addWidget(new QLabel(tr("Recipe")));
  checkpointRow->addWidget(recipeField_, 1);
  auto* sources = new QButtonGroup(this);
  sources->addButton(fromResults_);
  sources->addButton(fromCheckpoint_);

  metric_ = new QComboBox;
  metric_->setToolTip(
      tr("COCO AP on boxes or on masks; VOC mAP (IoU 0.5, mean over classes) on the boxes "
         "of any dataset: VOC folders, TXT lists and COCO files"));
  vocMethodLabel_ = new QLabel(tr("AP rule"));
  vocMethod_ = new QComboBox;
  vocMethod_->addItem(tr("area under the curve (VOC2010+)"), int(VocMethod::Area));
  vocMethod_->addItem(tr("11-point (VOC2007)"), int(VocMethod::Points11));
  vocMethodLabel_->setVisible(false);
  vocMethod_->setVisible(false);

  evaluateButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("Evaluate"));
  evaluateButton_->setDefault(true);
  stage_ = new QLabel;
  progress_ = new QProgressBar;
  progress_->setFixedWidth(200);
  cancelButton_ = new QPushButton(tr("Cancel"));
  saveButton_ = new QPushButton(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("Save metrics JSON…"));
  addButton_ = new QPushButton(tr("Add to Results"));
  addButton_->setToolTip(tr("Put these numbers in the table on the Results page"));

  auto* actions = new QHBoxLayout;
  actions->addWidget(new QLabel(tr("Metric")));
  actions->addWidget(metric_);
  actions->addWidget(vocMethodLabel_);
  actions->addWidget(vocMethod_);
  actions->addSpacing(12);
  actions->addWidget(evaluateButton_);
  actions->addWidget(stage_);
  actions->addWidget(progress_);
  actions->addWidget(cancelButton_);
  actions->addStretch(1);
  actions->addWidget(saveButton_);
  actions->addWidget(addButton_);

  auto* box = new QGroupBox(tr("Evaluate"));
  auto* form = new QFormLayout(box);
  form->setContentsMargins(8, 6, 8, 8);
  form->addRow(tr("Ground truth"), groundTruth_);
  form->addRow(tr("Predictions"), resultsRow);
  form->addRow(QString(), checkpointRow);
  form->addRow(QString(), actions);
  return box;
}

QWidget* EvaluatePage::buildResults() {
  summary_ = new QTableWidget(0, 2);
  summary_->setHorizontalHeaderLabels({tr("Metric"), tr("Value")});
  summary_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  summary_->setSelectionMode(QAbstractItemView::ContiguousSelection);
  summary_->verticalHeader()->setVisible(false);
  summary_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
  summary_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
  summary_->verticalHeader()->setDefaultSectionSize(summary_->fontMetrics().height() + 8);
  summary_->setMinimumWidth(190);

  categoryModel_ = new CategoryMetricsModel(this);
  categoryProxy_ = new QSortFilterProxyModel(this);
  categoryProxy_->setSourceModel(categoryModel_);
  categoryProxy_->setSortRole(CategoryMetricsModel::SortRole);
  categoryView_ = new QTableView;
  categoryView_->setModel(categoryProxy_);
  categoryView_->setSortingEnabled(true);
  categoryView_->sortByColumn(-1, Qt::AscendingOrder);
  categoryView_->setAlternatingRowColors(true);
  categoryView_->setSelectionBehavior(QAbstractItemView::SelectRows);
  categoryView_->verticalHeader()->setVisible(false);
  categoryView_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  // Columns as wide as their numbers: a stretched last column pushes AR100 far from the rest.
  categoryView_->horizontalHeader()->setStretchLastSection(false);

  prPlot_ = new PrCurvePlot;
  confusion_ = new ConfusionMatrixView;
  connect(confusion_, &ConfusionMatrixView::thresholdsChanged, this, &EvaluatePage::recomputeConfusion);
  connect(&confusionWatcher_, &QFutureWatcher<studio::ConfusionMatrix>::finished, this, [this] {
    confusion_->setBusy(false);
    if (confusionPending_) {  // the thresholds changed again meanwhile
      confusionPending_ = false;
      recomputeConfusion();
      return;
    }
    if (outcome_ && confusionFor_ == outcome_) confusion_->setMatrix(confusionWatcher_.result());
  });

  tabs_ = new QTabWidget;
  tabs_->addTab(categoryView_, tr("Per category"));
  tabs_->addTab(prPlot_, tr("Precision-recall"));
  tabs_->addTab(confusion_, tr("Confusion matrix"));

  resultTitle_ = new QLabel(tr("No evaluation yet: pick a results file and press Evaluate."));
  resultTitle_->setWordWrap(true);

  auto* splitter = new QSplitter(Qt::Horizontal);
  splitter->addWidget(group(tr("Summary"), summary_));
  splitter->addWidget(tabs_);
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setSizes({240, 900});
  splitter->setChildrenCollapsible(false);

  auto* page = new QWidget;
  auto* layout = new QVBoxLayout(page);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(resultTitle_);
  layout->addWidget(splitter, 1);
  return page;
}

void EvaluatePage::setResultsPath(const QString& path) { resultsField_->setPath(path); }

void EvaluatePage::setCheckpointPath(const QString& checkpoint) { checkpointField_->setPath(checkpoint); }

void EvaluatePage::setRecipePath(const QString& recipe) { recipeField_->setPath(recipe); }

QString EvaluatePage::recipePath() const { return recipeField_->path(); }

QString EvaluatePage::resultsPath() const { return resultsField_->path(); }

bool EvaluatePage::setMetric(Metric metric) {
  if (!selectMetric(metric)) return false;
  chosenMetric_ = metric;
  return true;
}

bool EvaluatePage::selectMetric(Metric metric) {
  const int index = metric_->findData(int(metric));
  if (index < 0) return false;
  metric_->setCurrentIndex(index);
  return true;
}

void EvaluatePage::showVocMethod() {
  const bool voc = metric() == Metric::Voc;
  vocMethodLabel_->setVisible(voc);
  vocMethod_->setVisible(voc);
}

EvaluatePage::Metric EvaluatePage::metric() const {
  return static_cast<Metric>(metric_->currentData().toInt());
}

QList<EvaluatePage::Metric> EvaluatePage::offeredMetrics() const {
  QList<Metric> out;
  for (int i = 0; i < metric_->count(); ++i) out << static_cast<Metric>(metric_->itemData(i).toInt());
  return out;
}

void EvaluatePage::setVocMethod(VocMethod method) {
  vocMethod_->setCurrentIndex(vocMethod_->findData(int(method)));
}

bool EvaluatePage::isRunning() const { return job_->isRunning() || inference_->isRunning(); }

QString EvaluatePage::errorText() const { return banner_->isHidden() ? QString() : banner_->text(); }

void EvaluatePage::showBanner(const QString& message) {
  banner_->setText(message);
  banner_->setVisible(true);
}

void EvaluatePage::onDatasetChanged() {
  groundTruth_->setText(document_->groundTruthSummary());
  const QSignalBlocker blocker(metric_);
  metric_->clear();
  metric_->addItem(tr("Boxes (bbox)"), int(Metric::Bbox));
  // Every annotation of every format has a box, so VOC mAP scores any dataset with objects (SSD
  // users score TXT lists by VOC07 11-point mAP); masks only where the ground truth has some (a
  // TXT list or a VOC folder without SegmentationObject has none).
  bool boxes = false, masks = false;
  if (document_->hasDataset()) {
    const auto& annotations = document_->dataset().annotations;
    boxes = !annotations.empty();
    masks = std::any_of(annotations.begin(), annotations.end(),
                        [](const studio::Annotation& a) { return a.has_mask(); });
  }
  if (masks) metric_->addItem(tr("Masks (segm)"), int(Metric::Segm));
  if (boxes) metric_->addItem(tr("VOC mAP"), int(Metric::Voc));
  // The user's pick stays while offered; otherwise VOC datasets are scored the VOC way, the
  // others by COCO box AP.
  const bool voc = document_->hasDataset() && document_->dataset().format == studio::DatasetFormat::Voc;
  if (!chosenMetric_ || !selectMetric(*chosenMetric_))
    selectMetric(voc && boxes ? Metric::Voc : Metric::Bbox);
  showVocMethod();
  // Numbers against another ground truth would be misleading next to the new one.
  clearResults();
  banner_->setVisible(false);
  updateButtons();
}

void EvaluatePage::updateButtons() {
  const bool running = isRunning();
  const bool input = fromCheckpoint_->isChecked()
                         ? !checkpointField_->path().isEmpty() && !recipeField_->path().isEmpty()
                         : !resultsField_->path().isEmpty();
  evaluateButton_->setEnabled(!running && document_->hasDataset() && !document_->isBusy() && input);
  saveButton_->setEnabled(!running && outcome_ != nullptr);
  addButton_->setEnabled(!running && outcome_ != nullptr);
}

QString EvaluatePage::checkpointPredictionsPath() const {
  if (!document_->hasDataset() || checkpointField_->path().isEmpty()) return {};
  return QDir(QStandardPaths::writableLocation(QStandardPaths::CacheLocation))
      .filePath(QStringLiteral("evaluate/") +
                predictionsFileName(checkpointField_->path(), recipeField_->path(), *document_));
}

void EvaluatePage::evaluate() {
  banner_->setVisible(false);
  if (!document_->hasDataset()) {
    showBanner(tr("Open the ground truth dataset on the Dataset page first."));
    return;
  }
  if (fromCheckpoint_->isChecked()) {
    evaluateCheckpoint();
    return;
  }
  evaluateFile(resultsField_->path());
}

void EvaluatePage::evaluateCheckpoint() {
  const QString checkpoint = checkpointField_->path(), recipe = recipeField_->path();
  if (!QFileInfo(checkpoint).isFile()) {
    showBanner(tr("The checkpoint %1 does not exist.").arg(checkpoint));
    return;
  }
  if (!QFileInfo(recipe).isFile()) {
    showBanner(tr("The recipe %1 does not exist (a run keeps it as config.yaml beside checkpoints/).").arg(recipe));
    return;
  }
  const QString target = checkpointPredictionsPath();
  if (QFileInfo(target).isFile()) {  // predicted before: scored again at once
    evaluateFile(target);
    return;
  }
  const QString cli = findStudioCli();
  if (cli.isEmpty()) {
    showBanner(tr("studio-cli was not found next to this program or on PATH (set STUDIO_CLI to its path)."));
    return;
  }
  const QString folder = QFileInfo(target).absolutePath();
  QStringList args{QStringLiteral("infer"), QStringLiteral("--config"), recipe, QStringLiteral("--weights"),
                   checkpoint};
  try {
    if (!QDir().mkpath(folder)) throw studio::Error(folder.toStdString() + ": cannot create the folder");
    args << inferDatasetArguments(*document_, folder, QFileInfo(target).completeBaseName());
  } catch (const std::exception& e) {
    showBanner(tr("Could not write the dataset for studio-cli: %1").arg(QString::fromStdString(e.what())));
    return;
  }
  onRunningChanged(true);
  stage_->setText(tr("Predicting with %1…").arg(QFileInfo(checkpoint).fileName()));
  inference_->start(cli, args, target);
}

void EvaluatePage::evaluateFile(const QString& path) {
  if (path.isEmpty()) {
    showBanner(tr("Pick a results file (a COCO results JSON) to evaluate."));
    return;
  }
  if (!QFileInfo(path).isFile()) {
    showBanner(tr("The results file %1 does not exist.").arg(path));
    return;
  }
  EvaluationRequest request;
  request.resultsPath = path;
  request.datasetDescription = document_->description();
  request.confusionScore = confusion_->scoreThreshold();
  request.confusionIou = confusion_->iouThreshold();
  switch (metric()) {
    case Metric::Bbox:
      request.kind = EvaluationRequest::Kind::CocoBbox;
      break;
    case Metric::Segm:
      request.kind = EvaluationRequest::Kind::CocoSegm;
      break;
    case Metric::Voc:
      request.kind = EvaluationRequest::Kind::Voc;
      break;
  }
  request.vocMethod = vocMethod_->currentData().toInt() == int(VocMethod::Points11)
                          ? studio::VocApMethod::Points11
                          : studio::VocApMethod::Area;
  job_->start(document_->dataset(), request);
}

void EvaluatePage::cancel() {
  if (inference_->isRunning()) inference_->cancel();
  job_->cancel();
}

void EvaluatePage::onRunningChanged(bool running) {
  running = running || isRunning();
  metric_->setEnabled(!running);
  vocMethod_->setEnabled(!running);
  resultsField_->setEnabled(!running);
  checkpointField_->setEnabled(!running);
  recipeField_->setEnabled(!running);
  fromResults_->setEnabled(!running);
  fromCheckpoint_->setEnabled(!running);
  stage_->setVisible(running);
  progress_->setVisible(running);
  cancelButton_->setVisible(running);
  if (running) {
    stage_->setText(tr("Evaluating…"));
    progress_->setRange(0, 0);
  }
  updateButtons();
}

void EvaluatePage::onProgress(qint64 done, qint64 total, const QString& stage) {
  if (!stage.isEmpty()) stage_->setText(stage);
  progress_->setRange(0, total > 0 ? 1000 : 0);
  if (total > 0) progress_->setValue(static_cast<int>(1000 * done / total));
}

void EvaluatePage::onFinished() {
  const std::shared_ptr<const EvaluationOutcome> previous = outcome_;
  outcome_ = job_->outcome();
  // The same detections against the same ground truth scored for the other IoU type (boxes, then
  // masks): the metrics file and the Results row keep both.
  combined_ = outcome_ ? outcome_->metrics : studio::MetricsFile{};
  if (previous && outcome_ && previous->request.resultsPath == outcome_->request.resultsPath &&
      previous->request.datasetDescription == outcome_->request.datasetDescription) {  // (a new dataset clears)
    const studio::MetricsFile& before = previous->metrics;
    if (!combined_.bbox && before.bbox) combined_.bbox = before.bbox;
    if (!combined_.segm && before.segm) combined_.segm = before.segm;
  }
  showOutcome();
  updateButtons();
  emit evaluationFinished();
}

void EvaluatePage::clearResults() {
  outcome_.reset();
  combined_ = studio::MetricsFile{};
  summary_->setRowCount(0);
  categoryModel_->clear();
  prPlot_->clear();
  confusion_->clear();
  resultTitle_->setText(tr("No evaluation yet: pick a results file and press Evaluate."));
}

void EvaluatePage::showOutcome() {
  const EvaluationOutcome& out = *outcome_;
  const QString file = QFileInfo(out.request.resultsPath).fileName();
  std::vector<std::pair<std::int64_t, std::string>> names;
  for (const auto& c : out.groundTruth->categories) names.emplace_back(c.id, c.name);

  summary_->setRowCount(0);
  if (out.coco) {
    const auto& labels = studio::summary_names();
    summary_->setRowCount(int(labels.size()));
    for (int i = 0; i < int(labels.size()); ++i) {
      auto* name = cell(QString::fromLatin1(labels[std::size_t(i)]), Qt::AlignLeft);
      name->setToolTip(tr(kSummaryMeaning[i]));
      summary_->setItem(i, 0, name);
      summary_->setItem(
          i, 1, cell(CategoryMetricsModel::formatValue(out.coco->stats[std::size_t(i)]), Qt::AlignRight));
    }
    categoryModel_->setCocoRows(out.perCategory);
    prPlot_->setCurves(out.curves, names);
    resultTitle_->setText(tr("<b>%1</b> on %2 — COCO %3, %4 detections")
                              .arg(file.toHtmlEscaped(), out.request.datasetDescription.toHtmlEscaped(),
                                   QString::fromLatin1(studio::iou_type_name(out.coco->type)))
                              .arg(out.detections));
  } else if (out.voc) {
    const bool points11 = out.voc->method == studio::VocApMethod::Points11;
    summary_->setRowCount(1);
    auto* name = cell(tr("mAP"), Qt::AlignLeft);
    name->setToolTip(points11 ? tr("VOC2007 11-point AP at IoU 0.5, mean over classes")
                              : tr("Area under the precision envelope at IoU 0.5, mean over classes"));
    summary_->setItem(0, 0, name);
    summary_->setItem(0, 1, cell(CategoryMetricsModel::formatValue(out.voc->map), Qt::AlignRight));
    categoryModel_->setVocClasses(out.voc->classes);
    prPlot_->setCurves(out.curves, names, true);
    resultTitle_->setText(tr("<b>%1</b> on %2 — VOC mAP (%3), %4 detections")
                              .arg(file.toHtmlEscaped(), out.request.datasetDescription.toHtmlEscaped(),
                                   points11 ? tr("11-point") : tr("area"))
                              .arg(out.detections));
  }
  confusion_->setMatrix(out.confusion);
}

void EvaluatePage::recomputeConfusion() {
  if (!outcome_ || !outcome_->detectionList || !outcome_->groundTruth) return;
  if (confusionWatcher_.isRunning()) {
    confusionPending_ = true;
    return;
  }
  // Off the GUI thread: mask IoUs over a large validation set take a while.
  confusionFor_ = outcome_;
  const std::shared_ptr<const EvaluationOutcome> out = outcome_;
  const double score = confusion_->scoreThreshold(), iou = confusion_->iouThreshold();
  const studio::IouType type =
      out->request.kind == EvaluationRequest::Kind::CocoSegm ? studio::IouType::Segm : studio::IouType::Bbox;
  confusion_->setBusy(true);
  confusionWatcher_.setFuture(QtConcurrent::run([out, type, score, iou] {
    return studio::confusion_matrix(*out->groundTruth, *out->detectionList, type, iou, score);
  }));
}

QString EvaluatePage::summaryValue(const QString& name) const {
  for (int row = 0; row < summary_->rowCount(); ++row)
    if (summary_->item(row, 0) && summary_->item(row, 0)->text() == name)
      return summary_->item(row, 1) ? summary_->item(row, 1)->text() : QString();
  return {};
}

studio::MetricsFile EvaluatePage::metrics() const { return combined_; }

bool EvaluatePage::saveMetrics(const QString& path) {
  if (!outcome_) return false;
  try {
    studio::write_file_atomic(path.toStdString(), studio::metrics_to_json(combined_));
    return true;
  } catch (const std::exception& e) {
    showBanner(tr("Could not save the metrics: %1").arg(QString::fromStdString(e.what())));
    return false;
  }
}

void EvaluatePage::saveMetricsWithDialog() {
  if (!outcome_) return;
  const QFileInfo results(outcome_->request.resultsPath);
  const QString suggestion =
      results.dir().filePath(results.completeBaseName() + QStringLiteral("_metrics.json"));
  const QString path =
      QFileDialog::getSaveFileName(this, tr("Save metrics JSON"), suggestion, tr("Metrics JSON (*.json)"));
  if (!path.isEmpty()) saveMetrics(path);
}

void EvaluatePage::addToResults() {
  if (outcome_) emit addToResultsRequested(combined_);
}

}  // namespace studio::ui
