#pragma once
// The studio's window: a list of stages on the left and one page per stage. It only assembles
// the pages; each page does its own work.
#include <QMainWindow>

class QListWidget;
class QStackedWidget;

namespace studio::ui {

class DatasetDocument;
class DatasetPage;
class EvaluatePage;
class ResultsPage;

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

 private:
  void addStage(const QString& name, QWidget* page);

  DatasetDocument* document_;
  DatasetPage* datasetPage_;
  EvaluatePage* evaluatePage_;
  ResultsPage* resultsPage_;
  QListWidget* stages_;
  QStackedWidget* pages_;
};

}  // namespace studio::ui
