#include "class_histogram.h"

#include <qcustomplot.h>

#include <QVBoxLayout>
#include <algorithm>

#include "class_colors.h"
#include "dataset_document.h"

namespace studio::ui {

ClassHistogram::ClassHistogram(DatasetDocument* document, QWidget* parent)
    : QWidget(parent), document_(document), plot_(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(plot_);
  plot_->setMinimumHeight(160);
  plot_->setBackground(palette().color(QPalette::Base));
  plot_->yAxis->setLabel(tr("annotations"));
  plot_->xAxis->grid()->setVisible(false);
  // Counts are whole numbers: never put a tick at 2.5 annotations.
  auto countTicker = QSharedPointer<QCPAxisTickerFixed>::create();
  countTicker->setTickStep(1.0);
  countTicker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
  plot_->yAxis->setTicker(countTicker);
  connect(document_, &DatasetDocument::datasetChanged, this, &ClassHistogram::rebuild);
  rebuild();
}

void ClassHistogram::rebuild() {
  plot_->clearPlottables();
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  double maxCount = 0;
  int bars = 0;
  if (document_->hasDataset()) {
    const auto& classes = document_->stats().classes;
    bars = static_cast<int>(classes.size());
    for (int i = 0; i < bars; ++i) {
      const auto& c = classes[static_cast<std::size_t>(i)];
      // One QCPBars per class: QCustomPlot gives a whole bars plottable one brush, and the
      // chart should use the colours the image canvas uses.
      auto* bar = new QCPBars(plot_->xAxis, plot_->yAxis);
      const QColor color = classColor(document_->dataset().category_index(c.category_id));
      bar->setBrush(color);
      bar->setPen(QPen(color.darker(140)));
      bar->setWidth(0.7);
      bar->setName(QString::fromStdString(c.name));
      bar->addData(i, static_cast<double>(c.annotations));
      ticker->addTick(i, QString::fromStdString(c.name));
      maxCount = std::max(maxCount, static_cast<double>(c.annotations));
    }
  }
  plot_->xAxis->setTicker(ticker);
  // Many classes (COCO has 80): turn the names and make them smaller so they stay legible.
  QFont tickFont = font();
  if (bars > 20) tickFont.setPointSizeF(std::max(6.0, tickFont.pointSizeF() - 2));
  plot_->xAxis->setTickLabelFont(tickFont);
  plot_->xAxis->setRange(-0.6, std::max(bars, 1) - 0.4);
  plot_->yAxis->setRange(0, std::max(1.0, maxCount * 1.1));
  fitTickLabels();
}

void ClassHistogram::fitTickLabels() {
  const QFontMetrics metrics(plot_->xAxis->tickLabelFont());
  const int bars = plot_->plottableCount();
  int widest = 0;
  for (int i = 0; i < bars; ++i) widest = std::max(widest, metrics.horizontalAdvance(barLabel(i)));
  // QCustomPlot lays out its axis rect only when it replots, so its width lags a resize; the
  // plot's width less the value axis and margins is what the bars get.
  const int axisWidth = plot_->width() - 70;
  const bool fits = bars == 0 || (widest + metrics.averageCharWidth()) * bars <= axisWidth;
  plot_->xAxis->setTickLabelRotation(fits ? 0 : 60);
  plot_->replot();
}

void ClassHistogram::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  fitTickLabels();
}

int ClassHistogram::barCount() const { return plot_->plottableCount(); }

double ClassHistogram::barValue(int bar) const {
  auto* bars = qobject_cast<QCPBars*>(plot_->plottable(bar));
  return bars && !bars->data()->isEmpty() ? bars->data()->constBegin()->mainValue() : 0.0;
}

QString ClassHistogram::barLabel(int bar) const {
  auto* bars = qobject_cast<QCPBars*>(plot_->plottable(bar));
  return bars ? bars->name() : QString();
}

}  // namespace studio::ui
