#pragma once
// The per-category results of an evaluation as a table: COCO (AP, AP50, AP75, APs/m/l, AR100,
// ground truth count) or VOC (ground truth, detections, AP). Undefined values (-1) show as "–"
// and sort below every defined one; the sort role carries the raw number.
#include <QAbstractTableModel>
#include <vector>

#include "eval/eval_reports.h"
#include "eval/voc_eval.h"

namespace studio::ui {

class CategoryMetricsModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  // Raw values for sorting (double or the name).
  static constexpr int SortRole = Qt::UserRole + 1;

  explicit CategoryMetricsModel(QObject* parent = nullptr);

  void setCocoRows(std::vector<studio::CategoryRow> rows);
  void setVocClasses(std::vector<studio::VocClassAp> classes);
  void clear();

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  // "–" for an undefined value, else three decimals.
  static QString formatValue(double value);

 private:
  // Column value as a number (-1 undefined), or NaN for text columns.
  double number(int row, int column) const;
  QString name(int row) const;

  bool voc_ = false;
  std::vector<studio::CategoryRow> coco_;
  std::vector<studio::VocClassAp> vocRows_;
};

}  // namespace studio::ui
