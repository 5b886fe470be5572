#pragma once
// The studio's window: a list of stages on the left and one page per stage, and the menus (File:
// Quit; View: the stages; Help: About). It only assembles the pages; each page does its own work.
#include <QMainWindow>
#include <functional>

class QCloseEvent;
class QListWidget;
class QStackedWidget;

namespace studio::ui {

class DatasetDocument;
class DatasetPage;
class EvaluatePage;
class ResultsPage;
class TrainPage;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  enum Stage { DatasetStage, TrainStage, EvaluateStage, InspectStage, ResultsStage };

  explicit MainWindow(QWidget* parent = nullptr);

  [[nodiscard]] DatasetDocument* document() const { return document_; }
  [[nodiscard]] DatasetPage* datasetPage() const { return datasetPage_; }
  [[nodiscard]] EvaluatePage* evaluatePage() const { return evaluatePage_; }
  [[nodiscard]] ResultsPage* resultsPage() const { return resultsPage_; }
  void showStage(Stage stage);
  [[nodiscard]] Stage currentStage() const;
  [[nodiscard]] TrainPage* trainPage() const { return trainPage_; }

  // Asked when the window is closed while a training run goes on: true stops the run (it writes
  // last.pt, so it can be resumed) and closes. The default asks with a message box; tests answer
  // instead.
  void setCloseQuestion(std::function<bool()> ask) { closeQuestion_ = std::move(ask); }

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void addStage(const QString& name, QWidget* page);
  void buildMenus();

  DatasetDocument* document_;
  DatasetPage* datasetPage_;
  EvaluatePage* evaluatePage_;
  ResultsPage* resultsPage_;
  TrainPage* trainPage_;
  std::function<bool()> closeQuestion_;
  QListWidget* stages_;
  QStackedWidget* pages_;
};

}  // namespace studio::ui
