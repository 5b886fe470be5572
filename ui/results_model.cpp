#include "results_model.h"

#include <algorithm>

namespace studio::ui {

ResultsModel::ResultsModel(QObject* parent) : QAbstractTableModel(parent) { rebuild(); }

void ResultsModel::rebuild() {
  // Header and cells come from export_table over all the runs, as exported: its columns depend on
  // the runs together (the detail columns' kind, the VOC mAP heading). An empty table still shows
  // the header.
  const QStringList lines =
      QString::fromStdString(studio::export_table(runs_, studio::TableFormat::Csv)).split(QLatin1Char('\n'));
  headers_ = !lines.isEmpty() && !lines.front().isEmpty() ? splitCsvLine(lines.front()) : QStringList();
  // export_table's documented columns, should it write nothing for no runs.
  if (headers_.isEmpty())
    headers_ = QStringList{"name",    "model", "dataset", "devices", "epochs", "images/s", "box AP",
                           "mask AP", "AP50",  "AP75",    "APs",     "APm",    "APl"};
  cells_.clear();
  for (std::size_t i = 0; i < runs_.size(); ++i)
    cells_.push_back(int(i) + 1 < lines.size() ? splitCsvLine(lines[int(i) + 1]) : QStringList());
}

QStringList ResultsModel::splitCsvLine(const QString& line) {
  QStringList fields;
  QString field;
  bool quoted = false;
  for (int i = 0; i < line.size(); ++i) {
    const QChar c = line[i];
    if (quoted) {
      if (c == QLatin1Char('"') && i + 1 < line.size() && line[i + 1] == QLatin1Char('"')) {
        field += c;
        ++i;
      } else if (c == QLatin1Char('"')) {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == QLatin1Char('"')) {
      quoted = true;
    } else if (c == QLatin1Char(',')) {
      fields << field;
      field.clear();
    } else if (c != QLatin1Char('\r')) {
      field += c;
    }
  }
  fields << field;
  return fields;
}

void ResultsModel::addRun(studio::MetricsFile run) {
  beginResetModel();
  runs_.push_back(std::move(run));
  rebuild();
  endResetModel();
}

void ResultsModel::removeRows(QList<int> rows) {
  std::sort(rows.begin(), rows.end(), std::greater<int>());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  beginResetModel();
  for (int row : rows) {
    if (row < 0 || row >= rowCount()) continue;
    runs_.erase(runs_.begin() + row);
  }
  rebuild();
  endResetModel();
}

int ResultsModel::columnOf(const QString& header) const { return int(headers_.indexOf(header)); }

int ResultsModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(runs_.size());
}

int ResultsModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(headers_.size());
}

QVariant ResultsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const QStringList& row = cells_[std::size_t(index.row())];
  if (role == Qt::DisplayRole) return index.column() < row.size() ? row[index.column()] : QString();
  if (role == Qt::ToolTipRole) {  // the dataset column is elided: its whole text
    const QString source = QString::fromStdString(runs_[std::size_t(index.row())].source);
    if (headers_.value(index.column()) == QLatin1String("dataset") && index.column() < row.size())
      return tr("%1\n(from %2)").arg(row[index.column()], source);
    return source;
  }
  if (role == Qt::TextAlignmentRole && index.column() >= 3)
    return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  return {};
}

QVariant ResultsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (role != Qt::DisplayRole) return {};
  if (orientation == Qt::Vertical) return section + 1;
  return section < headers_.size() ? headers_[section] : QVariant();
}

}  // namespace studio::ui
