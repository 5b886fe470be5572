#include "dataset_page.h"

#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QStyle>
#include <QVBoxLayout>

#include "class_histogram.h"
#include "dataset_document.h"
#include "dataset_summary.h"
#include "error_banner.h"
#include "findings_view.h"
#include "image_browser.h"
#include "import_dialog.h"

namespace studio::ui {

namespace {

QGroupBox* group(const QString& title, QWidget* content) {
  auto* box = new QGroupBox(title);
  auto* layout = new QVBoxLayout(box);
  layout->setContentsMargins(8, 6, 8, 8);
  layout->addWidget(content);
  return box;
}

}  // namespace

DatasetPage::DatasetPage(DatasetDocument* document, QWidget* parent) : QWidget(parent), document_(document) {
  importButton_ = new QPushButton(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("Import dataset…"));
  importButton_->setToolTip(tr("Open a COCO, Pascal VOC or TXT dataset"));
  demoButton_ = new QPushButton(tr("Open the demo dataset"));
  demoButton_->setToolTip(tr("Generate a small set of shapes with instance masks and open it"));
  checkButton_ =
      new QPushButton(style()->standardIcon(QStyle::SP_DialogApplyButton), tr("Check annotations"));
  checkButton_->setToolTip(tr("Look for missing images, boxes outside the image, bad masks, duplicates, …"));
  stage_ = new QLabel;
  progress_ = new QProgressBar;
  progress_->setFixedWidth(220);
  cancelButton_ = new QPushButton(tr("Cancel"));

  auto* bar = new QHBoxLayout;
  bar->addWidget(importButton_);
  bar->addWidget(demoButton_);
  bar->addWidget(checkButton_);
  bar->addStretch(1);
  bar->addWidget(stage_);
  bar->addWidget(progress_);
  bar->addWidget(cancelButton_);

  banner_ = makeErrorBanner();

  stack_ = new QStackedWidget;
  welcome_ = buildWelcome();
  stack_->addWidget(welcome_);
  stack_->addWidget(buildContent());

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 8);
  layout->addLayout(bar);
  layout->addWidget(banner_);
  layout->addWidget(stack_, 1);

  connect(importButton_, &QPushButton::clicked, this, &DatasetPage::showImportDialog);
  connect(demoButton_, &QPushButton::clicked, this, &DatasetPage::openDemo);
  connect(checkButton_, &QPushButton::clicked, this, &DatasetPage::checkAnnotations);
  connect(cancelButton_, &QPushButton::clicked, document_, &DatasetDocument::cancel);
  connect(document_, &DatasetDocument::busyChanged, this, &DatasetPage::onBusyChanged);
  connect(document_, &DatasetDocument::progress, this, &DatasetPage::onProgress);
  connect(document_, &DatasetDocument::datasetChanged, this, [this] {
    stack_->setCurrentIndex(document_->hasDataset() ? 1 : 0);
    banner_->setVisible(false);
  });
  connect(document_, &DatasetDocument::failed, this,
          [this](DatasetDocument::Operation op, const QString& message) {
            // The import dialog shows its own reading errors next to the paths to fix.
            if (op == DatasetDocument::Operation::Open && importDialog_ && importDialog_->isVisible()) return;
            showBanner(op == DatasetDocument::Operation::Check
                           ? tr("Checking failed: %1").arg(message)
                           : tr("Could not open the dataset: %1").arg(message));
          });
  connect(findings_, &FindingsView::findingActivated, browser_, &ImageBrowser::showImage);

  stack_->setCurrentIndex(document_->hasDataset() ? 1 : 0);
  onBusyChanged(document_->isBusy());
}

QWidget* DatasetPage::buildWelcome() {
  auto* title = new QLabel(tr("<h2>No dataset open</h2>"));
  auto* text = new QLabel(
      tr("Import a COCO, Pascal VOC or TXT dataset to look at its images and annotations and check them for "
         "mistakes.<br><br>New here? The demo dataset is %1 pictures of coloured shapes with instance masks, "
         "generated on this computer in a moment.")
          .arg(DatasetDocument::kDemoImages));
  text->setWordWrap(true);
  welcomeDemoButton_ = new QPushButton(tr("Open the demo dataset"));
  welcomeDemoButton_->setDefault(true);
  welcomeDemoButton_->setMinimumHeight(40);
  QFont big = welcomeDemoButton_->font();
  big.setPointSizeF(big.pointSizeF() * 1.2);
  big.setBold(true);
  welcomeDemoButton_->setFont(big);
  auto* importButton = new QPushButton(tr("Import a dataset…"));
  importButton->setMinimumHeight(40);
  connect(welcomeDemoButton_, &QPushButton::clicked, this, &DatasetPage::openDemo);
  connect(importButton, &QPushButton::clicked, this, &DatasetPage::showImportDialog);
  connect(document_, &DatasetDocument::busyChanged, welcomeDemoButton_, &QWidget::setDisabled);
  connect(document_, &DatasetDocument::busyChanged, importButton, &QWidget::setDisabled);

  auto* buttons = new QHBoxLayout;
  buttons->addWidget(welcomeDemoButton_, 2);
  buttons->addWidget(importButton, 1);

  auto* card = new QWidget;
  card->setFixedWidth(560);
  auto* cardLayout = new QVBoxLayout(card);
  cardLayout->addWidget(title);
  cardLayout->addWidget(text);
  cardLayout->addSpacing(12);
  cardLayout->addLayout(buttons);

  // Centred with stretches, not an alignment flag: an aligned item is sized from its size hint
  // alone, which ignores the height the wrapped text needs at the card's width.
  auto* row = new QHBoxLayout;
  row->addStretch(1);
  row->addWidget(card);
  row->addStretch(1);
  auto* page = new QWidget;
  auto* layout = new QVBoxLayout(page);
  layout->addStretch(1);
  layout->addLayout(row);
  layout->addStretch(2);
  return page;
}

QWidget* DatasetPage::buildContent() {
  summary_ = new DatasetSummary(document_);
  histogram_ = new ClassHistogram(document_);
  browser_ = new ImageBrowser(document_);
  findings_ = new FindingsView(document_);

  auto* left = new QWidget;
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  leftLayout->addWidget(group(tr("Summary"), summary_));
  leftLayout->addWidget(group(tr("Annotations per class"), histogram_), 1);

  auto* right = new QSplitter(Qt::Vertical);
  right->addWidget(group(tr("Images"), browser_));
  right->addWidget(group(tr("Findings"), findings_));
  right->setStretchFactor(0, 3);
  right->setStretchFactor(1, 1);
  // Room for a handful of findings under the image from the start.
  right->setSizes({500, 230});
  right->setChildrenCollapsible(false);

  auto* splitter = new QSplitter(Qt::Horizontal);
  splitter->addWidget(left);
  splitter->addWidget(right);
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setSizes({300, 900});
  splitter->setChildrenCollapsible(false);
  return splitter;
}

QString DatasetPage::errorText() const { return banner_->isHidden() ? QString() : banner_->text(); }

bool DatasetPage::showsWelcome() const { return stack_->currentWidget() == welcome_; }

void DatasetPage::openDemo() {
  banner_->setVisible(false);
  document_->openDemo();
}

void DatasetPage::showImportDialog() {
  importDialog_ = new ImportDialog(document_, this);
  importDialog_->setAttribute(Qt::WA_DeleteOnClose);
  importDialog_->open();
}

void DatasetPage::checkAnnotations() {
  banner_->setVisible(false);
  document_->check();
}

void DatasetPage::onBusyChanged(bool busy) {
  importButton_->setEnabled(!busy);
  demoButton_->setEnabled(!busy);
  checkButton_->setEnabled(!busy && document_->hasDataset());
  stage_->setVisible(busy);
  progress_->setVisible(busy);
  cancelButton_->setVisible(busy);
  if (busy) {
    stage_->setText(document_->runningOperation() == DatasetDocument::Operation::Check ? tr("Checking…")
                                                                                       : tr("Opening…"));
    progress_->setRange(0, 0);
  }
}

void DatasetPage::onProgress(qint64 done, qint64 total, const QString& stage) {
  if (!stage.isEmpty()) stage_->setText(stage);
  progress_->setRange(0, total > 0 ? 1000 : 0);
  if (total > 0) progress_->setValue(static_cast<int>(1000 * done / total));
}

void DatasetPage::showBanner(const QString& message) {
  banner_->setText(message);
  banner_->setVisible(true);
}

}  // namespace studio::ui
