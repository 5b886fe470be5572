#include "main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
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
  trainPage_ = new TrainPage(document_);
  addStage(tr("Train"), trainPage_);
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
  buildMenus();
  resize(1280, 800);
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
  quit->setObjectName(QStringLiteral("quitAction"));

  QMenu* view = menuBar()->addMenu(tr("&View"));
  for (int row = 0; row < stages_->count(); ++row) {
    QAction* go = view->addAction(stages_->item(row)->text(), this, [this, row] { stages_->setCurrentRow(row); });
    go->setShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + row)));
  }

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About Studio"), this, [this] {
    QMessageBox::about(this, tr("About Studio"),
                       tr("<b>Studio</b> %1<br>Train, evaluate and inspect instance segmentation and detection "
                          "models (SOLOv2, Mask R-CNN, SSD).<br>The same work runs headless with "
                          "<code>studio-cli</code>; <code>studio-cli --help</code> lists it.")
                           .arg(QStringLiteral(STUDIO_VERSION)));
  });
  help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (trainPage_->isRunning()) {
    const bool stop = closeQuestion_ ? closeQuestion_() : QMessageBox::question(
        this, tr("Training is running"),
        tr("A training run is still going. Stop it and quit?\n\nIt stops after its current iteration and writes "
           "last.pt, so Resume (or studio-cli train --resume) continues it later.")) == QMessageBox::Yes;
    if (!stop) {
      event->ignore();
      return;
    }
  }
  event->accept();
}

void MainWindow::addStage(const QString& name, QWidget* page) {
  auto* item = new QListWidgetItem(name, stages_);
  item->setSizeHint(QSize(0, 36));
  pages_->addWidget(page);
}

void MainWindow::showStage(Stage stage) { stages_->setCurrentRow(stage); }

MainWindow::Stage MainWindow::currentStage() const { return static_cast<Stage>(pages_->currentIndex()); }

}  // namespace studio::ui
