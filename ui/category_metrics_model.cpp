#include "category_metrics_model.h"

#include <cmath>
#include <limits>

namespace studio::ui {

namespace {

const char* const kCocoHeaders[] = {"Category", "GT", "AP", "AP50", "AP75", "APs", "APm", "APl", "AR100"};
const char* const kVocHeaders[] = {"Class", "GT", "Detections", "AP"};
constexpr int kCocoColumns = 9;
constexpr int kVocColumns = 4;

}  // namespace

CategoryMetricsModel::CategoryMetricsModel(QObject* parent) : QAbstractTableModel(parent) {}

void CategoryMetricsModel::setCocoRows(std::vector<studio::CategoryRow> rows) {
  beginResetModel();
  voc_ = false;
  coco_ = std::move(rows);
  vocRows_.clear();
  endResetModel();
}

void CategoryMetricsModel::setVocClasses(std::vector<studio::VocClassAp> classes) {
  beginResetModel();
  voc_ = true;
  vocRows_ = std::move(classes);
  coco_.clear();
  endResetModel();
}

void CategoryMetricsModel::clear() {
  beginResetModel();
  coco_.clear();
  vocRows_.clear();
  endResetModel();
}

int CategoryMetricsModel::rowCount(const QModelIndex& parent) const {
  if (parent.isValid()) return 0;
  return static_cast<int>(voc_ ? vocRows_.size() : coco_.size());
}

int CategoryMetricsModel::columnCount(const QModelIndex& parent) const {
  if (parent.isValid()) return 0;
  return voc_ ? kVocColumns : kCocoColumns;
}

QString CategoryMetricsModel::formatValue(double value) {
  return value < 0 ? QStringLiteral("–") : QString::number(value, 'f', 3);
}

QString CategoryMetricsModel::name(int row) const {
  return QString::fromStdString(voc_ ? vocRows_[std::size_t(row)].name : coco_[std::size_t(row)].name);
}

double CategoryMetricsModel::number(int row, int column) const {
  const auto r = std::size_t(row);
  if (voc_) {
    const auto& c = vocRows_[r];
    switch (column) {
      case 1:
        return double(c.gt_count);
      case 2:
        return double(c.detections);
      // A class without ground truth has no AP in the devkit's sense.
      case 3:
        return c.gt_count == 0 ? -1 : c.ap;
      default:
        return std::numeric_limits<double>::quiet_NaN();
    }
  }
  const auto& c = coco_[r];
  switch (column) {
    case 1:
      return double(c.gt_count);
    case 2:
      return c.ap;
    case 3:
      return c.ap50;
    case 4:
      return c.ap75;
    case 5:
      return c.ap_small;
    case 6:
      return c.ap_medium;
    case 7:
      return c.ap_large;
    case 8:
      return c.ar100;
    default:
      return std::numeric_limits<double>::quiet_NaN();
  }
}

QVariant CategoryMetricsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const int column = index.column();
  if (column == 0) {
    if (role == Qt::DisplayRole || role == SortRole) return name(index.row());
    return {};
  }
  const double value = number(index.row(), column);
  // Counts are the ground-truth and detection columns; everything else is a score.
  const bool count = column == 1 || (voc_ && column == 2);
  switch (role) {
    case Qt::DisplayRole:
      return count ? QString::number(static_cast<qlonglong>(value)) : formatValue(value);
    case SortRole:
      return value;
    case Qt::TextAlignmentRole:
      return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ToolTipRole:
      return value < 0 ? tr("Undefined: no ground truth in this range") : QVariant();
    default:
      return {};
  }
}

QVariant CategoryMetricsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  if (section < 0 || section >= columnCount()) return {};
  return QString::fromLatin1(voc_ ? kVocHeaders[section] : kCocoHeaders[section]);
}

}  // namespace studio::ui
