#pragma once
// The runs on the Results page, one row each, with export_table's columns and its formatting: a
// row is what export_table writes for that run, so the table on screen and the exported files
// never disagree.
#include <QAbstractTableModel>
#include <QStringList>
#include <vector>

#include "eval/metrics_file.h"

namespace studio::ui {

class ResultsModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  explicit ResultsModel(QObject* parent = nullptr);

  void addRun(studio::MetricsFile run);
  void removeRows(QList<int> rows);
  [[nodiscard]] const std::vector<studio::MetricsFile>& runs() const { return runs_; }
  // Column of a header ("box AP"), or -1.
  [[nodiscard]] int columnOf(const QString& header) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  // RFC 4180 fields of one CSV line (quoted fields, doubled quotes).
  static QStringList splitCsvLine(const QString& line);

 private:
  void rebuild();  // headers_ and cells_ from runs_

  std::vector<studio::MetricsFile> runs_;
  std::vector<QStringList> cells_;
  QStringList headers_;
};

}  // namespace studio::ui
