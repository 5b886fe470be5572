#include "inspect_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
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
#include <QtConcurrent/QtConcurrentRun>
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
#include "threshold_box.h"

namespace studio::ui {

using GroundTruthMode = PredictionViewer::GroundTruthMode;
using Style = PredictionViewer::Style;

namespace {

constexpr int kSliderSteps = 100;  // threshold in 0.01 steps

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
  connect(&imageWatcher_, &QFutureWatcher<QImage>::finished, this, &InspectPage::applyLoadedImage);
  connect(inference_, &InferenceProcess::succeeded, this, [this](const QString& target) {
    setBusy(false);
    pruneInspectCache(target);
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

QWidget* InspectPage::buildView() {
  threshold_ = new QSlider(Qt::Horizontal);
  threshold_->setRange(0, kSliderSteps);
  threshold_->setValue(50);
  threshold_->setMinimumWidth(100);
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
      {Style::Missed, tr("missed object")},       {Style::Ignored, tr("crowd (ignored)")},
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
  legend->addWidget(new QLabel(tr("matched at IoU ≥")));
  iou_ = makeThresholdBox(0.05, 0.95, 0.5,
                          tr("Overlap a prediction needs with an object to be a true positive (masks when both "
                             "have one, else boxes); COCO's AP50 uses 0.5, AP75 0.75"));
  connect(iou_, &QDoubleSpinBox::valueChanged, this, [this] { rematch(); });
  legend->addWidget(iou_);

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
  // Long captions and totals must not widen the page past a 1024-pixel screen.
  imageCaption_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  totalsLabel_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
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
  o.iou_threshold = iou_->value();
  const QVariant category = classFilter_->currentData();
  if (category.isValid()) o.category_id = category.toLongLong();
  return o;
}

void InspectPage::setScoreThreshold(double threshold) {
  threshold_->setValue(int(std::lround(std::clamp(threshold, 0.0, 1.0) * kSliderSteps)));
}

double InspectPage::scoreThreshold() const { return threshold_->value() / double(kSliderSteps); }

void InspectPage::setIouThreshold(double iou) { iou_->setValue(iou); }

double InspectPage::iouThreshold() const { return iou_->value(); }

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
      waitForImage();  // a caller that names an image (export, tests) gets its pixels at once
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
  // The pixels are read on the thread pool (a large image takes a while to decode); the boxes and
  // masks are drawn at once on an empty canvas of the recorded size, the pixels come after.
  viewer_->setImage(QImage(), QSize(info.width, info.height), tr("Loading %1…").arg(QFileInfo(path).fileName()));
  loadingImage_ = imageIndex;
  imageWatcher_.setFuture(QtConcurrent::run([path] {
    QImageReader reader(path);
    reader.setAutoTransform(true);
    return reader.read();
  }));

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

void InspectPage::applyLoadedImage() {
  if (loadingImage_ < 0 || !gt_ || loadingImage_ != imageIndex_ || !imageWatcher_.isFinished()) return;
  const QImage image = imageWatcher_.result();
  const QString path = QString::fromStdString(gt_->image_path(gt_->images[std::size_t(loadingImage_)]));
  loadingImage_ = -1;
  viewer_->setPixels(image, image.isNull() ? tr("Image not found: %1").arg(path) : QString());
}

void InspectPage::waitForImage() {
  if (loadingImage_ < 0) return;
  imageWatcher_.waitForFinished();
  applyLoadedImage();
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
