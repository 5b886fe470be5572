#include "main_window.h"

#include <QHBoxLayout>
#include <QListWidget>
#include <QStackedWidget>
#include <QStatusBar>

#include "dataset_document.h"
#include "dataset_page.h"
#include "evaluate_page.h"
#include "inspect_page.h"
#include "results_page.h"
#include "train_page.h"

namespace studio::ui {

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      document_(new DatasetDocument(this)),
      stages_(new QListWidget),
      pages_(new QStackedWidget) {
  setWindowTitle(tr("Studio"));
  pages_->setObjectName(QStringLiteral("stagePages"));
  stages_->setFixedWidth(130);
  stages_->setFrameShape(QFrame::NoFrame);
  stages_->setSpacing(2);
  QFont stageFont = stages_->font();
  stageFont.setPointSizeF(stageFont.pointSizeF() * 1.1);
  stages_->setFont(stageFont);

  datasetPage_ = new DatasetPage(document_);
  addStage(tr("Dataset"), datasetPage_);
  addStage(tr("Train"), new TrainPage(document_));
  evaluatePage_ = new EvaluatePage(document_);
  addStage(tr("Evaluate"), evaluatePage_);
  addStage(tr("Inspect"), new InspectPage(document_));
  resultsPage_ = new ResultsPage;
  addStage(tr("Results"), resultsPage_);
  connect(evaluatePage_, &EvaluatePage::addToResultsRequested, this,
          [this](const studio::MetricsFile& metrics) {
            resultsPage_->addMetrics(metrics);
            statusBar()->showMessage(tr("Added to Results"), 4000);
          });

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
