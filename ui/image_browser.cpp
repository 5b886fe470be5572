#include "image_browser.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QImageReader>
#include <QLabel>
#include <QListView>
#include <QSplitter>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

#include "annotation_overlay.h"
#include "class_colors.h"
#include "dataset_document.h"
#include "image_canvas.h"
#include "image_list_model.h"

namespace studio::ui {

ImageBrowser::ImageBrowser(DatasetDocument* document, QWidget* parent)
    : QWidget(parent), document_(document), model_(new ImageListModel(document, this)) {
  classCombo_ = new QComboBox;
  classCombo_->setToolTip(tr("Browse only the images that hold annotations of this class"));
  classCombo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  classCombo_->setMinimumContentsLength(12);

  previousButton_ = new QToolButton;
  previousButton_->setIcon(style()->standardIcon(QStyle::SP_ArrowBack));
  previousButton_->setToolTip(tr("Previous image (Left, Page Up)"));
  nextButton_ = new QToolButton;
  nextButton_->setIcon(style()->standardIcon(QStyle::SP_ArrowForward));
  nextButton_->setToolTip(tr("Next image (Right, Page Down)"));
  positionLabel_ = new QLabel;
  positionLabel_->setMinimumWidth(70);
  positionLabel_->setAlignment(Qt::AlignCenter);

  overlayCheck_ = new QCheckBox(tr("Annotations"));
  overlayCheck_->setChecked(true);
  overlayCheck_->setToolTip(tr("Draw the ground truth over the image"));
  fitButton_ = new QToolButton;
  fitButton_->setText(tr("Fit"));
  fitButton_->setToolTip(tr("Fit the image in the view (double click, 0)"));

  auto* bar = new QHBoxLayout;
  bar->setContentsMargins(0, 0, 0, 0);
  bar->addWidget(new QLabel(tr("Class:")));
  bar->addWidget(classCombo_);
  bar->addSpacing(12);
  bar->addWidget(previousButton_);
  bar->addWidget(positionLabel_);
  bar->addWidget(nextButton_);
  bar->addStretch(1);
  bar->addWidget(overlayCheck_);
  bar->addWidget(fitButton_);

  list_ = new QListView;
  list_->setModel(model_);
  list_->setUniformItemSizes(true);
  list_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  list_->setSelectionMode(QAbstractItemView::SingleSelection);

  canvas_ = new ImageCanvas;
  statusLabel_ = new QLabel;
  statusLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  statusLabel_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

  auto* canvasColumn = new QWidget;
  auto* canvasLayout = new QVBoxLayout(canvasColumn);
  canvasLayout->setContentsMargins(0, 0, 0, 0);
  canvasLayout->setSpacing(2);
  canvasLayout->addWidget(canvas_, 1);
  canvasLayout->addWidget(statusLabel_);

  auto* splitter = new QSplitter(Qt::Horizontal);
  splitter->addWidget(list_);
  splitter->addWidget(canvasColumn);
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setSizes({170, 600});
  splitter->setChildrenCollapsible(false);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(bar);
  layout->addWidget(splitter, 1);

  connect(previousButton_, &QToolButton::clicked, this, &ImageBrowser::previous);
  connect(nextButton_, &QToolButton::clicked, this, &ImageBrowser::next);
  connect(canvas_, &ImageCanvas::previousRequested, this, &ImageBrowser::previous);
  connect(canvas_, &ImageCanvas::nextRequested, this, &ImageBrowser::next);
  connect(canvas_, &ImageCanvas::zoomChanged, this, &ImageBrowser::updateStatus);
  connect(fitButton_, &QToolButton::clicked, canvas_, &ImageCanvas::zoomToFit);
  connect(overlayCheck_, &QCheckBox::toggled, canvas_, &ImageCanvas::setOverlayVisible);
  connect(classCombo_, qOverload<int>(&QComboBox::currentIndexChanged), this,
          &ImageBrowser::onClassComboChanged);
  connect(list_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &ImageBrowser::showCurrent);
  // The model's own handler (clearing its filter) is connected first, so this sees the new rows.
  connect(document_, &DatasetDocument::datasetChanged, this, &ImageBrowser::onDatasetChanged);

  onDatasetChanged();
}

void ImageBrowser::onDatasetChanged() {
  shownImage_.reset();
  {
    const QSignalBlocker blocker(classCombo_);
    classCombo_->clear();
    classCombo_->addItem(tr("All classes"));
    if (document_->hasDataset()) {
      const auto& classes = document_->stats().classes;
      for (std::size_t i = 0; i < classes.size(); ++i) {
        const auto& c = classes[i];
        classCombo_->addItem(classSwatch(document_->dataset().category_index(c.category_id)),
                             tr("%1 (%2 images)").arg(QString::fromStdString(c.name)).arg(c.images),
                             QVariant::fromValue<qint64>(c.category_id));
      }
    }
    classCombo_->setCurrentIndex(0);
  }
  setEnabled(document_->hasDataset());
  if (model_->rowCount() > 0) {
    setCurrentRow(0);
  } else {
    canvas_->clear();
    updateStatus();
  }
}

void ImageBrowser::onClassComboChanged(int comboIndex) {
  const QVariant id = classCombo_->itemData(comboIndex);
  const std::optional<qint64> previous = currentImageId();
  model_->setCategoryFilter(id.isValid() ? std::optional<std::int64_t>(id.value<qint64>()) : std::nullopt);
  // Stay on the same image when the filter keeps it; otherwise start at the first match.
  const int row = previous ? model_->rowOfImage(*previous) : -1;
  if (row >= 0) {
    setCurrentRow(row);
  } else if (model_->rowCount() > 0) {
    setCurrentRow(0);
  } else {
    shownImage_.reset();
    canvas_->clear();
  }
  updateStatus();
}

void ImageBrowser::setCategoryFilter(std::optional<qint64> categoryId) {
  int comboIndex = 0;
  if (categoryId) {
    comboIndex = classCombo_->findData(QVariant::fromValue<qint64>(*categoryId));
    if (comboIndex < 0) return;
  }
  if (comboIndex == classCombo_->currentIndex())
    onClassComboChanged(comboIndex);
  else
    classCombo_->setCurrentIndex(comboIndex);
}

bool ImageBrowser::showImage(qint64 imageId, std::optional<qint64> highlightAnnotation) {
  if (!document_->hasDataset() || !document_->dataset().image_by_id(imageId)) return false;
  int row = model_->rowOfImage(imageId);
  if (row < 0) {
    setCategoryFilter(std::nullopt);
    row = model_->rowOfImage(imageId);
    if (row < 0) return false;
  }
  setCurrentRow(row);
  if (shownImage_ != imageId) showCurrent();
  canvas_->setHighlightedAnnotation(highlightAnnotation);
  updateStatus();
  return true;
}

std::optional<qint64> ImageBrowser::currentImageId() const {
  const int row = currentRow();
  if (row < 0) return std::nullopt;
  return model_->imageIdAt(row);
}

int ImageBrowser::currentRow() const {
  const QModelIndex index = list_->currentIndex();
  return index.isValid() ? index.row() : -1;
}

void ImageBrowser::next() {
  const int row = currentRow();
  if (row + 1 < model_->rowCount()) setCurrentRow(row + 1);
}

void ImageBrowser::previous() {
  const int row = currentRow();
  if (row > 0) setCurrentRow(row - 1);
}

void ImageBrowser::setCurrentRow(int row) {
  const QModelIndex index = model_->index(row, 0);
  list_->setCurrentIndex(index);
  list_->scrollTo(index);
  // setCurrentIndex signals only a change; after a model reset the row may be "current"
  // already without the image being shown.
  if (currentImageId() != shownImage_) showCurrent();
}

void ImageBrowser::showCurrent() {
  const std::optional<qint64> id = currentImageId();
  if (!id) return;
  if (id == shownImage_) return;
  shownImage_ = id;
  const studio::Dataset& dataset = document_->dataset();
  const studio::ImageInfo* info = dataset.image_by_id(*id);
  const QString path = QString::fromStdString(dataset.image_path(*info));

  QImageReader reader(path);
  QImage image = reader.read();
  QString message;
  if (image.isNull())
    message = tr("Cannot show %1: %2").arg(QDir::toNativeSeparators(path), reader.errorString());
  canvas_->setScene(image, QSize(info->width, info->height), buildOverlay(dataset, *id), message);
  emit currentImageChanged(*id);
  updateStatus();
}

void ImageBrowser::updateStatus() {
  const int rows = model_->rowCount();
  const int row = currentRow();
  positionLabel_->setText(rows == 0 ? tr("no images") : tr("%1 / %2").arg(row + 1).arg(rows));
  previousButton_->setEnabled(row > 0);
  nextButton_->setEnabled(row >= 0 && row + 1 < rows);
  if (!shownImage_ || !document_->hasDataset()) {
    statusLabel_->clear();
    return;
  }
  const studio::Dataset& dataset = document_->dataset();
  const studio::ImageInfo* info = dataset.image_by_id(*shownImage_);
  if (!info) return;
  const auto count = dataset.annotations_of(info->id).size();
  const QString size = info->width > 0 && info->height > 0 ? tr("%1 x %2").arg(info->width).arg(info->height)
                                                           : tr("size unknown");
  statusLabel_->setText(tr("%1   id %2   %3   %4 %5   zoom %6%")
                            .arg(QString::fromStdString(info->file_name))
                            .arg(info->id)
                            .arg(size)
                            .arg(count)
                            .arg(count == 1 ? tr("annotation") : tr("annotations"))
                            .arg(qRound(canvas_->zoom() * 100)));
}

}  // namespace studio::ui
