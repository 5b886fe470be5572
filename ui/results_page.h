#pragma once
// The Results stage: a table of runs (metrics files, run folders, evaluations sent from the
// Evaluate page) with export_table's columns, exported as CSV, Markdown or LaTeX.
#include <QWidget>

#include "eval/metrics_file.h"

class QLabel;
class QPushButton;
class QTableView;

namespace studio::ui {

class ResultsModel;

class ResultsPage : public QWidget {
  Q_OBJECT

 public:
  explicit ResultsPage(QWidget* parent = nullptr);

  [[nodiscard]] ResultsModel* model() const { return model_; }
  [[nodiscard]] QTableView* table() const { return table_; }
  // The last failure shown in the banner (empty when none).
  [[nodiscard]] QString errorText() const;

  // Reads a metrics JSON or a run folder (read_metrics) and adds it; on failure shows the
  // reader's message and returns false.
  bool addPath(const QString& path);
  // Writes the table in `format` to `path` (atomically); on failure shows why and returns false.
  bool exportTo(const QString& path, studio::TableFormat format);
  [[nodiscard]] QString markdown() const;

 public slots:
  void addMetrics(const studio::MetricsFile& metrics);
  void removeSelected();
  void copyMarkdown();

 private:
  void browseFile();
  void browseFolder();
  void exportWithDialog();
  void showBanner(const QString& message);
  void fitColumns();  // the dataset column capped, the others to their contents
  void updateButtons();

  ResultsModel* model_;
  QTableView* table_;
  QLabel* banner_;
  QLabel* empty_;
  QPushButton* removeButton_;
  QPushButton* exportButton_;
  QPushButton* copyButton_;
};

}  // namespace studio::ui
