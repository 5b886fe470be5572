#pragma once
// Annotations per class as a bar chart (QCustomPlot), one bar per class in the class colour.
#include <QWidget>
#include <vector>

class QCustomPlot;

namespace studio::ui {

class DatasetDocument;

class ClassHistogram : public QWidget {
  Q_OBJECT

 public:
  explicit ClassHistogram(DatasetDocument* document, QWidget* parent = nullptr);

  // What is plotted, for tests: one bar per class, in category order.
  [[nodiscard]] int barCount() const;
  [[nodiscard]] double barValue(int bar) const;
  [[nodiscard]] QString barLabel(int bar) const;
  [[nodiscard]] QCustomPlot* plot() const { return plot_; }

  QSize sizeHint() const override { return {320, 240}; }

 protected:
  void resizeEvent(QResizeEvent* event) override;

 private:
  void rebuild();
  // Class names side by side when they fit under their bars, turned when they don't.
  void fitTickLabels();

  DatasetDocument* document_;
  QCustomPlot* plot_;
};

}  // namespace studio::ui
