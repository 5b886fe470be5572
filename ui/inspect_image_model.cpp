#include "inspect_image_model.h"

#include <QColor>
#include <QString>

namespace studio::ui {

QVariant InspectImageModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || !gt_ || !matches_) return {};
  const auto image = std::size_t(order_[std::size_t(index.row())]);
  const studio::ImageMatch& m = (*matches_)[image];
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case Image:
        return QString::fromStdString(gt_->images[image].file_name);
      case Detections:
        return int(m.predictions.size());
      case TruePositives:
        return m.true_positives;
      case FalsePositives:
        return m.false_positives;
      case Missed:
        return m.missed_count();
      case Quality:
        return QString::number(m.quality(), 'f', 2);
    }
  } else if (role == Qt::TextAlignmentRole) {
    return index.column() == Image ? int(Qt::AlignLeft | Qt::AlignVCenter)
                                   : int(Qt::AlignRight | Qt::AlignVCenter);
  } else if (role == Qt::ForegroundRole) {
    if (index.column() == FalsePositives && m.false_positives > 0) return QColor(200, 30, 30);
    if (index.column() == Missed && m.missed_count() > 0) return QColor(200, 110, 0);
  } else if (role == Qt::ToolTipRole && index.column() == Image) {
    return QString::fromStdString(gt_->images[image].file_name);
  }
  return {};
}

QVariant InspectImageModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return {};
  if (role == Qt::DisplayRole) {
    switch (section) {
      case Image:
        return QObject::tr("Image");
      case Detections:
        return QObject::tr("Shown");
      case TruePositives:
        return QObject::tr("TP");
      case FalsePositives:
        return QObject::tr("FP");
      case Missed:
        return QObject::tr("Missed");
      case Quality:
        return QObject::tr("F1");
    }
  } else if (role == Qt::ToolTipRole) {
    switch (section) {
      case Detections:
        return QObject::tr("Predictions at or above the score threshold");
      case TruePositives:
        return QObject::tr("True positives at the page's IoU threshold");
      case FalsePositives:
        return QObject::tr("False positives: duplicates, wrong class or background");
      case Missed:
        return QObject::tr("Objects no prediction found");
      case Quality:
        return QObject::tr("2·TP / (2·TP + FP + missed) at the threshold; 1 when there is nothing to find");
    }
  }
  return {};
}

}  // namespace studio::ui
