#pragma once

#include <QAbstractTableModel>
#include <algorithm>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "eval/match_predictions.h"

namespace studio::ui {

// The image list: one row per image, in the order the page sorted them. Reads the page's
// per-image matches; the page resets it after every re-match.
class InspectImageModel : public QAbstractTableModel {
 public:
  enum Column { Image, Detections, TruePositives, FalsePositives, Missed, Quality, ColumnCount };

  explicit InspectImageModel(QObject* parent) : QAbstractTableModel(parent) {}

  void set(const studio::Dataset* gt, const std::vector<studio::ImageMatch>* matches,
           std::vector<int> order) {
    beginResetModel();
    gt_ = gt;
    matches_ = matches;
    order_ = std::move(order);
    endResetModel();
  }
  [[nodiscard]] int imageIndexAt(int row) const {
    return row >= 0 && row < int(order_.size()) ? order_[std::size_t(row)] : -1;
  }
  [[nodiscard]] int rowOf(int imageIndex) const {
    const auto it = std::find(order_.begin(), order_.end(), imageIndex);
    return it == order_.end() ? -1 : int(it - order_.begin());
  }

  int rowCount(const QModelIndex& parent) const override { return parent.isValid() ? 0 : int(order_.size()); }
  int columnCount(const QModelIndex& parent) const override { return parent.isValid() ? 0 : ColumnCount; }

  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

 private:
  const studio::Dataset* gt_ = nullptr;
  const std::vector<studio::ImageMatch>* matches_ = nullptr;
  std::vector<int> order_;
};

}  // namespace studio::ui
