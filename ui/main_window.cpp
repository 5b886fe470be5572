#include "main_window.h"

#include <QHBoxLayout>
#include <QListWidget>
#include <QStackedWidget>

#include "dataset_document.h"
#include "dataset_page.h"
#include "placeholder_page.h"

namespace studio::ui {

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      document_(new DatasetDocument(this)),
      stages_(new QListWidget),
      pages_(new QStackedWidget) {
  setWindowTitle(tr("Studio"));
  stages_->setFixedWidth(130);
  stages_->setFrameShape(QFrame::NoFrame);
  stages_->setSpacing(2);
  QFont stageFont = stages_->font();
  stageFont.setPointSizeF(stageFont.pointSizeF() * 1.1);
  stages_->setFont(stageFont);

  datasetPage_ = new DatasetPage(document_);
  addStage(tr("Dataset"), datasetPage_);
  addStage(tr("Train"),
           new PlaceholderPage(
               tr("Train"), tr("Training runs in its own process and is followed through its run folder."),
               {tr("pick a model recipe (SOLOv2, Mask R-CNN + FPN, SSD-ResNet50-FPN, SSD-MobileNetV2)"),
                tr("train on the CPU, one GPU or several"),
                tr("watch the losses, learning rate and throughput live")}));
  addStage(tr("Evaluate"), new PlaceholderPage(tr("Evaluate"), tr("Scores a trained model on a dataset."),
                                               {tr("run COCO evaluation (boxes and masks) or VOC mAP"),
                                                tr("compare checkpoints of a run")}));
  addStage(tr("Inspect"),
           new PlaceholderPage(tr("Inspect"), tr("Shows what a model predicts."),
                               {tr("draw predicted masks and boxes over the images"),
                                tr("set score thresholds and compare with the ground truth")}));
  addStage(tr("Results"),
           new PlaceholderPage(tr("Results"), tr("Collects the numbers of finished runs."),
                               {tr("tables of metrics across runs"), tr("export them as CSV or Markdown")}));

  auto* central = new QWidget;
  auto* layout = new QHBoxLayout(central);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(stages_);
  layout->addWidget(pages_, 1);
  setCentralWidget(central);

  connect(stages_, &QListWidget::currentRowChanged, pages_, &QStackedWidget::setCurrentIndex);
  stages_->setCurrentRow(DatasetStage);
  resize(1280, 800);
}

void MainWindow::addStage(const QString& name, QWidget* page) {
  auto* item = new QListWidgetItem(name, stages_);
  item->setSizeHint(QSize(0, 36));
  pages_->addWidget(page);
}

void MainWindow::showStage(Stage stage) { stages_->setCurrentRow(stage); }

MainWindow::Stage MainWindow::currentStage() const { return static_cast<Stage>(pages_->currentIndex()); }

}  // namespace studio::ui
