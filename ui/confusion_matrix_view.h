#pragma once
// The confusion matrix as a table of counts: rows are ground-truth classes, columns predicted
// classes, with a "background" row (false positives) and column (missed objects). Cells are
// shaded by their share of the row, so the diagonal stands out at a glance. The score and IoU
// thresholds (0.3 and 0.5 at first) can be changed; the page recomputes the matrix for them.
#include <QWidget>

#include "eval/eval_reports.h"

class QDoubleSpinBox;
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

  [[nodiscard]] double scoreThreshold() const;
  [[nodiscard]] double iouThreshold() const;
  void setThresholds(double score, double iou);  // emits thresholdsChanged when they change
  // While the page recomputes: the table is greyed and says so.
  void setBusy(bool busy);

 signals:
  void thresholdsChanged(double score, double iou);

 private:
  void updateNote();

  QLabel* note_;
  QDoubleSpinBox* score_;
  QDoubleSpinBox* iou_;
  QTableWidget* table_;
};

}  // namespace studio::ui
