#pragma once
// The confusion matrix at IoU 0.5 as a table of counts: rows are ground-truth classes, columns
// predicted classes, with a "background" row (false positives) and column (missed objects).
// Cells are shaded by their share of the row, so the diagonal stands out at a glance.
#include <QWidget>

#include "eval/eval_reports.h"

class QLabel;
class QTableWidget;

namespace studio::ui {

class ConfusionMatrixView : public QWidget {
  Q_OBJECT

 public:
  explicit ConfusionMatrixView(QWidget* parent = nullptr);

  void setMatrix(const studio::ConfusionMatrix& matrix);
  void clear();

  [[nodiscard]] QTableWidget* table() const { return table_; }
  // The count shown in a cell (row = ground truth, column = prediction; index K = background).
  [[nodiscard]] int count(int row, int column) const;

 private:
  QLabel* note_;
  QTableWidget* table_;
};

}  // namespace studio::ui
