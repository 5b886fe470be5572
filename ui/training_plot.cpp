#include "training_plot.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPdfWriter>
#include <QPushButton>
#include <QSlider>
#include <QSvgGenerator>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <memory>

#include "class_colors.h"
#include "common/run_folder.h"
#include "run_follower.h"

namespace studio::ui {

namespace {

constexpr int kRedrawDelayMs = 100;
// Pixels from a curve within which hovering shows its value.
constexpr double kHoverDistance = 24;
constexpr int kExportWidth = 640;
constexpr int kExportHeight = 360;

const char* const kTitles[TrainingPlot::ChartCount] = {"Losses",        "Learning rate",   "Images per second",
                                                       "Data vs step time (s)", "GPU memory (MB)", "Evaluation AP"};

bool isTrainChart(int chart) { return chart != TrainingPlot::Evaluation; }

// TensorBoard's smoothing: an exponential moving average with the start-up bias removed, so the
// first points are not pulled towards 0. NaN (a null in events.jsonl) stays a gap.
QVector<double> smoothed(const QVector<double>& y, double weight) {
  QVector<double> out(y.size());
  double last = 0;
  int n = 0;
  for (int i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) {
      out[i] = y[i];
      continue;
    }
    last = last * weight + (1 - weight) * y[i];
    ++n;
    out[i] = last / (1 - std::pow(weight, n));
  }
  return out;
}

Qt::PenStyle styleOf(int index) {
  static const Qt::PenStyle styles[] = {Qt::SolidLine, Qt::DashLine, Qt::DotLine, Qt::DashDotLine,
                                        Qt::DashDotDotLine};
  return styles[index % 5];
}

QString numberText(double v) {
  if (!std::isfinite(v)) return QStringLiteral("–");
  const double a = std::abs(v);
  if (a != 0 && (a < 1e-3 || a >= 1e5)) return QString::number(v, 'e', 3);
  return QString::number(v, 'g', 5);
}

}  // namespace

TrainingPlot::TrainingPlot(QWidget* parent) : QWidget(parent), redrawTimer_(new QTimer(this)) {
  redrawTimer_->setSingleShot(true);
  redrawTimer_->setInterval(kRedrawDelayMs);
  connect(redrawTimer_, &QTimer::timeout, this, &TrainingPlot::redraw);

  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.85);
  QFont titleFont = font();
  titleFont.setBold(true);
  auto* grid = grid_ = new QGridLayout;
  grid->setSpacing(4);
  for (int c = 0; c < ChartCount; ++c) {
    auto* plot = new QCustomPlot;
    plot->setMinimumSize(210, 150);
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot->setMouseTracking(true);  // hover values without a button pressed
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, tr(kTitles[c]), titleFont));
    plot->xAxis->setLabel(c == Evaluation ? tr("epoch") : tr("iteration"));
    // Iterations and epochs are whole numbers: ticks at multiples of 1 (1, 2, 5, 10, 20, ...).
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot->xAxis->setTicker(ticker);
    plot->xAxis->setLabelFont(small);
    plot->xAxis->setTickLabelFont(small);
    plot->yAxis->setTickLabelFont(small);
    plot->legend->setFont(small);
    plot->legend->setRowSpacing(0);
    plot->legend->setBrush(QColor(255, 255, 255, 210));
    // The legend in a row of its own under the title: inside the axis rect it hid the curves.
    // Beside it an empty element that takes the rest of the row: a layout column is only as wide
    // as its narrowest element allows, and an empty legend allows a few pixels, which drew the
    // empty charts tiny.
    plot->axisRect()->insetLayout()->take(plot->legend);
    auto* legendRow = new QCPLayoutGrid;
    legendRow->setMargins(QMargins(0, 0, 0, 0));
    plot->plotLayout()->insertRow(1);
    plot->plotLayout()->addElement(1, 0, legendRow);
    plot->plotLayout()->setRowStretchFactor(1, 0.001);
    legendRow->addElement(0, 0, plot->legend);
    legendRow->addElement(0, 1, new QCPLayoutElement(plot));
    legendRow->setColumnStretchFactor(0, 0.001);
    plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot->legend->setWrap(4);
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setMargins(QMargins(2, 0, 2, 0));
    tracers_[c] = new QCPItemTracer(plot);
    tracers_[c]->setStyle(QCPItemTracer::tsCircle);
    tracers_[c]->setSize(7);
    tracers_[c]->setInterpolating(false);
    tracers_[c]->setVisible(false);
    labels_[c] = new QCPItemText(plot);
    labels_[c]->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    labels_[c]->position->setType(QCPItemPosition::ptAbsolute);
    labels_[c]->setPadding(QMargins(4, 2, 4, 2));
    labels_[c]->setBrush(QColor(255, 255, 225, 235));
    labels_[c]->setPen(QPen(QColor(120, 120, 120)));
    labels_[c]->setFont(small);
    labels_[c]->setClipToAxisRect(false);
    labels_[c]->setVisible(false);
    empty_[c] = new QCPItemText(plot);
    empty_[c]->position->setType(QCPItemPosition::ptAxisRectRatio);
    empty_[c]->position->setCoords(0.5, 0.5);
    empty_[c]->setText(c == Evaluation ? tr("no evaluation yet") : tr("no data yet"));
    empty_[c]->setColor(QColor(140, 140, 140));
    autoRange_[c] = true;
    // Dragging or wheeling is the user taking over the view; a double-click gives it back.
    connect(plot, &QCustomPlot::mousePress, this, [this, c] { autoRange_[c] = false; });
    connect(plot, &QCustomPlot::mouseWheel, this, [this, c] { autoRange_[c] = false; });
    connect(plot, &QCustomPlot::mouseDoubleClick, this, [this, c] {
      autoRange_[c] = true;
      drawChart(Chart(c));
    });
    connect(plot, &QCustomPlot::mouseMove, this, [this, c](QMouseEvent* e) { onMouseMove(Chart(c), e); });
    plot->installEventFilter(this);  // the hover label goes when the pointer leaves
    plots_[c] = plot;
  }
  grid->addWidget(plots_[Losses], 0, 0);
  grid->addWidget(plots_[Evaluation], 0, 1);
  grid->addWidget(plots_[LearningRate], 1, 0);
  grid->addWidget(plots_[Throughput], 1, 1);
  grid->addWidget(plots_[Timing], 2, 0, 1, 2);
  grid->addWidget(plots_[GpuMemory], 2, 1);
  plots_[GpuMemory]->setVisible(false);  // until a run records it (CUDA runs)

  smoothingSlider_ = new QSlider(Qt::Horizontal);
  smoothingSlider_->setRange(0, 99);
  smoothingSlider_->setValue(int(std::lround(smoothing_ * 100)));
  smoothingSlider_->setFixedWidth(110);
  smoothingSlider_->setToolTip(tr("Exponential moving average weight (0 = raw values)"));
  smoothingValue_ = new QLabel;
  smoothingValue_->setMinimumWidth(32);
  logBox_ = new QCheckBox(tr("Log scale"));
  logBox_->setToolTip(tr("Logarithmic value axis for the losses and the learning rate"));
  auto* fitButton = new QPushButton(tr("Fit"));
  fitButton->setToolTip(tr("Show all points again (or double-click a chart)"));
  auto* saveButton = new QPushButton(tr("Save charts…"));
  saveButton->setToolTip(tr("PNG image, or SVG / PDF (vector), of all charts"));

  auto* controls = new QHBoxLayout;
  controls->setContentsMargins(0, 0, 0, 0);
  controls->addWidget(new QLabel(tr("Smoothing")));
  controls->addWidget(smoothingSlider_);
  controls->addWidget(smoothingValue_);
  controls->addSpacing(12);
  controls->addWidget(logBox_);
  controls->addStretch(1);
  controls->addWidget(fitButton);
  controls->addWidget(saveButton);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(controls);
  layout->addLayout(grid, 1);

  connect(smoothingSlider_, &QSlider::valueChanged, this, [this](int v) { setSmoothing(v / 100.0); });
  connect(logBox_, &QCheckBox::toggled, this, &TrainingPlot::setLogScale);
  connect(fitButton, &QPushButton::clicked, this, [this] {
    for (bool& a : autoRange_) a = true;
    redraw();
  });
  connect(saveButton, &QPushButton::clicked, this, &TrainingPlot::saveWithDialog);
  smoothingValue_->setText(QString::number(smoothing_, 'f', 2));
  redraw();
}

int TrainingPlot::addRun(const QString& name) {
  const int id = nextRun_++;
  Run run;
  run.name = name;
  run.color = classColor(id);
  runs_.insert(id, run);
  scheduleRedraw();
  return id;
}

void TrainingPlot::removeRun(int run) {
  runs_.remove(run);
  scheduleRedraw();
}

void TrainingPlot::clearRuns() {
  runs_.clear();
  scheduleRedraw();
}

void TrainingPlot::clearRun(int run) {
  auto it = runs_.find(run);
  if (it == runs_.end()) return;
  it->series.clear();
  scheduleRedraw();
}

QVector<int> TrainingPlot::runIds() const { return QVector<int>(runs_.keyBegin(), runs_.keyEnd()); }

QString TrainingPlot::runName(int run) const { return runs_.value(run).name; }

void TrainingPlot::addEvent(int run, const RunEvent& event) {
  auto it = runs_.find(run);
  if (it == runs_.end()) return;
  if (event.type == QLatin1String(event_type::kTrain)) {
    for (auto n = event.numbers.begin(); n != event.numbers.end(); ++n) {
      Series& s = it->series[n.key()];
      s.x << double(event.iter);
      s.y << n.value();
    }
  } else if (event.type == QLatin1String(event_type::kEval)) {
    // COCO groups ({"segm": {"AP": ..}, "bbox": {..}}) chart their AP; a VOC evaluation
    // ({"voc": {"mAP": ..}}, the SSD recipes) its mAP.
    for (auto g = event.groups.begin(); g != event.groups.end(); ++g) {
      const QString key = g.key() == QLatin1String("voc") ? QStringLiteral("mAP") : QStringLiteral("AP");
      const auto ap = g.value().find(key);
      if (ap == g.value().end()) continue;
      Series& s = it->series[g.key() + QLatin1Char('.') + key];
      s.x << double(event.epoch);
      s.y << ap.value();
    }
  } else {
    return;
  }
  scheduleRedraw();
}

void TrainingPlot::setSmoothing(double weight) {
  smoothing_ = std::clamp(weight, 0.0, 0.99);
  smoothingValue_->setText(QString::number(smoothing_, 'f', 2));
  const int v = int(std::lround(smoothing_ * 100));
  if (smoothingSlider_->value() != v) {
    const QSignalBlocker block(smoothingSlider_);
    smoothingSlider_->setValue(v);
  }
  scheduleRedraw();
}

void TrainingPlot::setLogScale(bool on) {
  logScale_ = on;
  if (logBox_->isChecked() != on) {
    const QSignalBlocker block(logBox_);
    logBox_->setChecked(on);
  }
  for (Chart c : {Losses, LearningRate}) {
    QCPAxis* axis = plots_[c]->yAxis;
    axis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (on)
      axis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    else
      axis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    autoRange_[c] = true;
  }
  redraw();
}

int TrainingPlot::pointCount(int run, const QString& key) const {
  const auto it = runs_.find(run);
  if (it == runs_.end()) return 0;
  const auto s = it->series.find(key);
  return s == it->series.end() ? 0 : int(s->x.size());
}

int TrainingPlot::drawnPoints(Chart chart) const {
  int n = 0;
  for (int i = 0; i < plots_[chart]->graphCount(); ++i) n += plots_[chart]->graph(i)->dataCount();
  return n;
}

QString TrainingPlot::hoverText(Chart chart) const {
  return labels_[chart]->visible() ? labels_[chart]->text() : QString();
}

void TrainingPlot::redrawNow() {
  redrawTimer_->stop();
  redraw();
  // Painted now, not on the next event loop turn: callers grab or save right after.
  for (QCustomPlot* p : plots_) p->replot(QCustomPlot::rpImmediateRefresh);
}

void TrainingPlot::scheduleRedraw() {
  if (!redrawTimer_->isActive()) redrawTimer_->start();
}

QStringList TrainingPlot::keysOf(Chart chart) const {
  // The union over runs, in a fixed order: the total loss first, then the terms by name.
  QStringList keys;
  for (const Run& run : runs_)
    for (auto s = run.series.begin(); s != run.series.end(); ++s)
      if (!keys.contains(s.key())) keys << s.key();
  QStringList out;
  switch (chart) {
    case Losses:
      if (keys.contains(QStringLiteral("loss"))) out << QStringLiteral("loss");
      for (const QString& k : keys)
        if (k.startsWith(QLatin1String("loss")) && k != QLatin1String("loss")) out << k;
      break;
    case LearningRate: out << QStringLiteral("lr"); break;
    case Throughput: out << QStringLiteral("images_per_s"); break;
    case Timing: out << QStringLiteral("data_time") << QStringLiteral("step_time"); break;
    case GpuMemory: out << QStringLiteral("gpu_mem_mb"); break;
    case Evaluation: out << QStringLiteral("segm.AP") << QStringLiteral("bbox.AP") << QStringLiteral("voc.mAP"); break;
    case ChartCount: break;
  }
  QStringList present;
  for (const QString& k : out)
    if (keys.contains(k)) present << k;
  return present;
}

void TrainingPlot::redraw() {
  bool gpu = false;
  for (const Run& run : runs_) gpu = gpu || run.series.contains(QStringLiteral("gpu_mem_mb"));
  if (plots_[GpuMemory]->isHidden() == gpu) {
    // Without GPU memory the timing chart takes the whole last row.
    grid_->removeWidget(plots_[Timing]);
    grid_->addWidget(plots_[Timing], 2, 0, 1, gpu ? 1 : 2);
    plots_[GpuMemory]->setVisible(gpu);
  }
  for (int c = 0; c < ChartCount; ++c) drawChart(Chart(c));
}

void TrainingPlot::drawChart(Chart chart) {
  QCustomPlot* plot = plots_[chart];
  tracers_[chart]->setGraph(nullptr);
  tracers_[chart]->setVisible(false);
  labels_[chart]->setVisible(false);
  plot->clearGraphs();
  const QStringList keys = keysOf(chart);
  const bool severalRuns = runs_.size() > 1;
  plot->legend->setWrap(severalRuns ? 2 : 4);  // "run: key" names are long; applies to items added after
  // Evaluation points are few (one an epoch): no smoothing, and markers so a single one shows.
  const double weight = isTrainChart(chart) ? smoothing_ : 0.0;
  const bool positiveOnly = logScale_ && (chart == Losses || chart == LearningRate);
  for (auto run = runs_.begin(); run != runs_.end(); ++run) {
    for (int k = 0; k < keys.size(); ++k) {
      const auto s = run->series.find(keys[k]);
      if (s == run->series.end() || s->x.isEmpty()) continue;
      // The losses: the total dark, every term its own colour (from the first colour on), and with
      // several runs each run its own line style. The other charts: one colour a run, and a line
      // style a key.
      const int colorIndex = chart == Losses && keys.front() == QLatin1String("loss") ? k - 1 : k;
      const QColor keyColor = keys[k] == QLatin1String("loss") ? QColor(30, 30, 30) : classColor(colorIndex);
      const int runIndex = int(std::distance(runs_.begin(), run));
      const QColor color = chart == Losses || !severalRuns ? keyColor : run->color;
      const Qt::PenStyle style = !severalRuns ? Qt::SolidLine : chart == Losses ? styleOf(runIndex) : styleOf(k);
      QPen pen(color, keys[k] == QLatin1String("loss") ? 2.0 : 1.5, style);
      QVector<double> y = s->y;
      if (positiveOnly)
        for (double& v : y)
          if (!(v > 0)) v = std::numeric_limits<double>::quiet_NaN();
      const QString name = severalRuns ? QStringLiteral("%1: %2").arg(run->name, keys[k]) : keys[k];
      if (weight > 0 && y.size() > 1) {
        QColor faint = color;
        faint.setAlpha(60);
        QCPGraph* raw = plot->addGraph();
        raw->setName(name + tr(" (raw)"));
        raw->setPen(QPen(faint, 1.0));
        raw->setData(s->x, y, true);
        raw->removeFromLegend();
        y = smoothed(y, weight);
      }
      QCPGraph* graph = plot->addGraph();
      graph->setName(name);
      graph->setPen(pen);
      graph->setData(s->x, y, true);
      if (chart == Evaluation) graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
    }
  }
  plot->legend->setVisible(plot->legend->itemCount() > 1);
  empty_[chart]->setVisible(plot->graphCount() == 0);
  if (autoRange_[chart] && plot->graphCount() > 0) {
    plot->rescaleAxes();
    if (plot->xAxis->range().size() < 1) {  // a single point: some room around it
      const double x = plot->xAxis->range().center();
      plot->xAxis->setRange(x - 1, x + 1);
    }
    if (chart == Evaluation) {
      // AP lives in [0, 1]; epochs are whole numbers, with half an epoch of room either side.
      bool found = false;
      QCPRange x;
      for (int i = 0; i < plot->graphCount(); ++i) {
        bool ok = false;
        const QCPRange r = plot->graph(i)->getKeyRange(ok);
        if (!ok) continue;
        x = found ? QCPRange(std::min(x.lower, r.lower), std::max(x.upper, r.upper)) : r;
        found = true;
      }
      if (found) plot->xAxis->setRange(x.lower - 0.5, std::max(x.upper, x.lower + 1) + 0.5);
      plot->yAxis->setRange(0, std::max(0.05, plot->yAxis->range().upper * 1.1));
    } else if (!positiveOnly) {
      // A flat series (a constant learning rate) gets some room instead of a zero-height axis.
      QCPRange y = plot->yAxis->range();
      const double pad = std::max(1e-12, (y.upper - y.lower) * 0.05 + std::abs(y.upper) * 1e-3);
      plot->yAxis->setRange(y.lower - pad, y.upper + pad);
    }
  }
  plot->replot(QCustomPlot::rpQueuedReplot);
}

void TrainingPlot::onMouseMove(Chart chart, QMouseEvent* event) {
  QCustomPlot* plot = plots_[chart];
  QCPGraph* best = nullptr;
  double bestDistance = kHoverDistance;
  for (int i = 0; i < plot->graphCount(); ++i) {
    QCPGraph* g = plot->graph(i);
    double d = g->selectTest(event->position(), false);
    // The drawn (smoothed) curve wins over its faint raw twin unless the raw one is clearly nearer.
    if (d >= 0 && g->name().endsWith(tr(" (raw)"))) d += 4;
    if (d >= 0 && d < bestDistance) {
      best = g;
      bestDistance = d;
    }
  }
  QCPItemTracer* tracer = tracers_[chart];
  QCPItemText* label = labels_[chart];
  if (!best) {
    hideHover(chart);
    return;
  }
  tracer->setGraph(best);
  tracer->setGraphKey(plot->xAxis->pixelToCoord(event->position().x()));
  tracer->setPen(QPen(best->pen().color(), 1.5));
  tracer->setBrush(Qt::white);
  tracer->updatePosition();
  const QPointF at = tracer->position->coords();
  label->setText(QStringLiteral("%1\n%2 %3: %4")
                     .arg(best->name(), chart == Evaluation ? tr("epoch") : tr("iteration"),
                          QString::number(qint64(std::llround(at.x()))), numberText(at.y())));
  // Above and right of the point, or where it fits: kept whole inside the chart's widget.
  const QPointF point = tracer->position->pixelPosition();
  const QSizeF size = QFontMetricsF(label->font()).boundingRect(QRectF(0, 0, 4000, 4000), 0, label->text()).size() +
                      QSizeF(10, 6);  // the label's padding and pen
  const QRectF area(2, 2, plot->width() - 4, plot->height() - 4);
  QPointF pixel = point + QPointF(8, -6);  // the label's bottom left
  if (pixel.x() + size.width() > area.right()) pixel.setX(point.x() - 8 - size.width());
  pixel.setX(std::clamp(pixel.x(), area.left(), std::max(area.left(), area.right() - size.width())));
  if (pixel.y() - size.height() < area.top()) pixel.setY(point.y() + 8 + size.height());
  pixel.setY(std::clamp(pixel.y(), area.top() + size.height(), std::max(area.top() + size.height(), area.bottom())));
  label->position->setCoords(pixel);
  tracer->setVisible(true);
  label->setVisible(true);
  plot->replot(QCustomPlot::rpQueuedReplot);
}

bool TrainingPlot::eventFilter(QObject* watched, QEvent* event) {
  if (event->type() == QEvent::Leave)
    for (int c = 0; c < ChartCount; ++c)
      if (watched == plots_[c]) hideHover(Chart(c));
  return QWidget::eventFilter(watched, event);
}

void TrainingPlot::hideHover(Chart chart) {
  if (!labels_[chart]->visible() && !tracers_[chart]->visible()) return;
  tracers_[chart]->setVisible(false);
  labels_[chart]->setVisible(false);
  plots_[chart]->replot(QCustomPlot::rpQueuedReplot);
}

bool TrainingPlot::save(const QString& path) {
  redrawNow();
  // The charts in the page's order (GPU memory only when recorded), two a row.
  QVector<QCustomPlot*> shown;
  for (Chart c : {Losses, Evaluation, LearningRate, Throughput, Timing, GpuMemory})
    if (c != GpuMemory || !plots_[GpuMemory]->isHidden()) shown << plots_[c];
  const int columns = 2;
  const int rows = (int(shown.size()) + columns - 1) / columns;
  const QSize total(columns * kExportWidth, rows * kExportHeight);
  for (int c = 0; c < ChartCount; ++c) {  // no hover marks in the file
    tracers_[c]->setVisible(false);
    labels_[c]->setVisible(false);
  }
  const bool pdf = path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive);
  const bool svg = path.endsWith(QLatin1String(".svg"), Qt::CaseInsensitive);
  if (pdf || svg) {
    // Vector output: every chart painted through QCustomPlot's vectorised painter.
    std::unique_ptr<QPdfWriter> pdfWriter;
    std::unique_ptr<QSvgGenerator> svgWriter;
    QPaintDevice* device = nullptr;
    if (pdf) {
      pdfWriter = std::make_unique<QPdfWriter>(path);
      pdfWriter->setResolution(72);  // one device pixel is one point
      pdfWriter->setPageMargins(QMarginsF(0, 0, 0, 0));
      pdfWriter->setPageSize(QPageSize(QSizeF(total), QPageSize::Point));
      pdfWriter->setCreator(QStringLiteral("Studio"));
      device = pdfWriter.get();
    } else {
      svgWriter = std::make_unique<QSvgGenerator>();
      svgWriter->setFileName(path);
      svgWriter->setSize(total);
      svgWriter->setViewBox(QRect(QPoint(0, 0), total));
      svgWriter->setTitle(QStringLiteral("Training charts"));
      device = svgWriter.get();
    }
    QCPPainter painter;
    if (!painter.begin(device)) return false;
    painter.setMode(QCPPainter::pmVectorized);
    painter.setMode(QCPPainter::pmNoCaching);
    for (int i = 0; i < shown.size(); ++i) {
      painter.save();
      painter.translate((i % columns) * kExportWidth, (i / columns) * kExportHeight);
      shown[i]->toPainter(&painter, kExportWidth, kExportHeight);
      painter.restore();
    }
    return painter.end();
  }
  QImage image(total, QImage::Format_ARGB32);
  image.fill(Qt::white);
  {
    QPainter painter(&image);
    for (int i = 0; i < shown.size(); ++i)
      painter.drawPixmap((i % columns) * kExportWidth, (i / columns) * kExportHeight,
                         shown[i]->toPixmap(kExportWidth, kExportHeight));
  }
  return image.save(path);
}

void TrainingPlot::saveWithDialog() {
  QString selected;
  const QString path = QFileDialog::getSaveFileName(this, tr("Save charts"), QStringLiteral("training.png"),
                                                    tr("PNG image (*.png);;SVG, vector (*.svg);;PDF, vector (*.pdf)"), &selected);
  if (path.isEmpty()) return;
  QString target = path;
  if (!target.endsWith(QLatin1String(".png"), Qt::CaseInsensitive) &&
      !target.endsWith(QLatin1String(".svg"), Qt::CaseInsensitive) &&
      !target.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive))
    target += selected.contains(QLatin1String("svg"))   ? QStringLiteral(".svg")
              : selected.contains(QLatin1String("pdf")) ? QStringLiteral(".pdf")
                                                        : QStringLiteral(".png");
  if (!save(target)) QMessageBox::warning(this, tr("Save charts"), tr("Could not write %1.").arg(target));
}

}  // namespace studio::ui
