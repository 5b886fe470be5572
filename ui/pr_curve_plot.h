#pragma once
// Precision-recall curves of an evaluation (QCustomPlot): one graph per category ticked in the
// list beside the plot, plus the mean over categories, at IoU 0.5 or 0.75.
#include <QWidget>
#include <map>
#include <string>
#include <vector>

#include "eval/eval_reports.h"

class QButtonGroup;
class QCustomPlot;
class QListWidget;
class QRadioButton;

namespace studio::ui {

class PrCurvePlot : public QWidget {
  Q_OBJECT

 public:
  explicit PrCurvePlot(QWidget* parent = nullptr);

  // `names` maps category ids to names, in the order the list shows them. `fixedIou` is for
  // curves at a single threshold (VOC): the IoU toggle is hidden then.
  void setCurves(std::vector<studio::PrCurve> curves, std::vector<std::pair<std::int64_t, std::string>> names,
                 bool fixedIou = false);
  void clear();

  void setIou(double iou);
  [[nodiscard]] double iou() const { return iou_; }
  // Ticks the category with this id (its curve is drawn).
  void setCategoryShown(std::int64_t categoryId, bool shown);

  // What is drawn, for tests: graph names ("mean" for the mean) in drawing order.
  [[nodiscard]] QStringList graphNames() const;
  [[nodiscard]] QCustomPlot* plot() const { return plot_; }

  QSize sizeHint() const override { return {560, 360}; }

 private:
  void redraw();

  QCustomPlot* plot_;
  QListWidget* categories_;
  QRadioButton* iou50_;
  QRadioButton* iou75_;
  QWidget* iouRow_;
  std::vector<studio::PrCurve> curves_;
  double iou_ = 0.5;
  bool fixedIou_ = false;
};

}  // namespace studio::ui
