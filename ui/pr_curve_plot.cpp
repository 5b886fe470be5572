#include "pr_curve_plot.h"

#include <qcustomplot.h>

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QRadioButton>
#include <QVBoxLayout>
#include <cmath>
#include <limits>

#include "class_colors.h"

namespace studio::ui {

namespace {

constexpr int kIdRole = Qt::UserRole + 1;
constexpr int kColorIndexRole = Qt::UserRole + 2;
// Enough curves to compare without turning the plot into a tangle.
constexpr int kInitiallyShown = 5;

}  // namespace

PrCurvePlot::PrCurvePlot(QWidget* parent) : QWidget(parent) {
  plot_ = new QCustomPlot;
  plot_->xAxis->setLabel(tr("Recall"));
  plot_->yAxis->setLabel(tr("Precision"));
  plot_->xAxis->setRange(0, 1);
  // A little room below 0 so that a class never detected (precision 0) stays visible.
  plot_->yAxis->setRange(-0.03, 1.03);
  plot_->legend->setVisible(true);
  plot_->legend->setFont(font());
  // The legend in a column of its own right of the curves: inside the axis rect it covered the
  // curves that end low (a class never found lies along precision 0).
  plot_->axisRect()->insetLayout()->take(plot_->legend);
  auto* legendColumn = new QCPLayoutGrid;
  legendColumn->setMargins(QMargins(0, 0, 0, 0));
  plot_->plotLayout()->addElement(0, 1, legendColumn);
  plot_->plotLayout()->setColumnStretchFactor(1, 0.001);
  legendColumn->addElement(0, 0, plot_->legend);
  legendColumn->addElement(1, 0, new QCPLayoutElement(plot_));  // the rest of the height, below it
  legendColumn->setRowStretchFactor(0, 0.001);
  plot_->legend->setBorderPen(Qt::NoPen);
  plot_->setMinimumSize(320, 240);

  categories_ = new QListWidget;
  categories_->setFixedWidth(170);
  categories_->setToolTip(tr("Tick the categories whose curves to draw"));

  iou50_ = new QRadioButton(tr("IoU 0.50"));
  iou75_ = new QRadioButton(tr("IoU 0.75"));
  iou50_->setChecked(true);
  iouRow_ = new QWidget;
  auto* iouLayout = new QHBoxLayout(iouRow_);
  iouLayout->setContentsMargins(0, 0, 0, 0);
  iouLayout->addWidget(iou50_);
  iouLayout->addWidget(iou75_);

  auto* side = new QVBoxLayout;
  side->addWidget(iouRow_);
  side->addWidget(new QLabel(tr("Categories")));
  side->addWidget(categories_, 1);

  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(side);
  layout->addWidget(plot_, 1);

  connect(iou50_, &QRadioButton::toggled, this, [this](bool on) { setIou(on ? 0.5 : 0.75); });
  connect(categories_, &QListWidget::itemChanged, this, &PrCurvePlot::redraw);
}

void PrCurvePlot::setCurves(std::vector<studio::PrCurve> curves,
                            std::vector<std::pair<std::int64_t, std::string>> names, bool fixedIou) {
  curves_ = std::move(curves);
  fixedIou_ = fixedIou;
  iouRow_->setVisible(!fixedIou);
  if (fixedIou && !curves_.empty()) iou_ = curves_.front().iou;
  if (!fixedIou) iou_ = iou50_->isChecked() ? 0.5 : 0.75;
  const QSignalBlocker blocker(categories_);
  categories_->clear();
  int colorIndex = 0;
  for (const auto& [id, name] : names) {
    auto* item = new QListWidgetItem(QString::fromStdString(name), categories_);
    item->setData(kIdRole, QVariant::fromValue<qlonglong>(id));
    item->setData(kColorIndexRole, colorIndex);
    item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
    item->setCheckState(colorIndex < kInitiallyShown ? Qt::Checked : Qt::Unchecked);
    QPixmap swatch(12, 12);
    swatch.fill(classColor(colorIndex));
    item->setIcon(QIcon(swatch));
    ++colorIndex;
  }
  redraw();
}

void PrCurvePlot::clear() { setCurves({}, {}); }

void PrCurvePlot::setIou(double iou) {
  if (fixedIou_) return;
  iou_ = iou;
  const QSignalBlocker b50(iou50_), b75(iou75_);
  iou50_->setChecked(iou < 0.6);
  iou75_->setChecked(iou >= 0.6);
  redraw();
}

void PrCurvePlot::setCategoryShown(std::int64_t categoryId, bool shown) {
  for (int i = 0; i < categories_->count(); ++i) {
    QListWidgetItem* item = categories_->item(i);
    if (item->data(kIdRole).toLongLong() == categoryId)
      item->setCheckState(shown ? Qt::Checked : Qt::Unchecked);
  }
}

QStringList PrCurvePlot::graphNames() const {
  QStringList names;
  for (int i = 0; i < plot_->graphCount(); ++i) names << plot_->graph(i)->name();
  return names;
}

void PrCurvePlot::redraw() {
  plot_->clearGraphs();
  auto curveOf = [this](std::int64_t id) -> const studio::PrCurve* {
    for (const auto& c : curves_)
      if (c.category_id == id && std::abs(c.iou - iou_) < 1e-6) return &c;
    return nullptr;
  };
  auto addGraph = [this](const studio::PrCurve& curve, const QString& name, const QPen& pen) {
    QVector<double> x, y;
    for (std::size_t i = 0; i < curve.recall.size() && i < curve.precision.size(); ++i) {
      x << curve.recall[i];
      // Undefined precision leaves a gap rather than a drop to -1.
      y << (curve.precision[i] < 0 ? std::numeric_limits<double>::quiet_NaN() : curve.precision[i]);
    }
    QCPGraph* graph = plot_->addGraph();
    graph->setName(name);
    graph->setPen(pen);
    graph->setData(x, y, true);
  };
  for (int i = 0; i < categories_->count(); ++i) {
    const QListWidgetItem* item = categories_->item(i);
    if (item->checkState() != Qt::Checked) continue;
    if (const studio::PrCurve* curve = curveOf(item->data(kIdRole).toLongLong()))
      addGraph(*curve, item->text(), QPen(classColor(item->data(kColorIndexRole).toInt()), 1.6));
  }
  if (const studio::PrCurve* mean = curveOf(0)) {
    QPen pen(QColor(30, 30, 30), 2.4, Qt::DashLine);
    addGraph(*mean, tr("mean"), pen);
  }
  plot_->legend->setVisible(plot_->graphCount() > 0);
  plot_->replot();
}

}  // namespace studio::ui
