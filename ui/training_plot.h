#pragma once
// Live training charts (QCustomPlot) of one or several runs: the loss terms and the total, the
// learning rate, images/s, data time against step time, GPU memory (shown once a run records
// it) against the iteration, and evaluation AP (segm and bbox) against the epoch.
// Each chart zooms with the wheel and pans by dragging (double-click: fit again); hovering shows
// the nearest value. An EMA slider smooths the curves (the raw ones stay faint behind), a log
// scale applies to losses and learning rate. With one run every curve has its own colour; with
// several, each run has one colour and the curves of a chart differ by line style.
#include <QColor>
#include <QHash>
#include <QMap>
#include <QString>
#include <QVector>
#include <QWidget>

class QCheckBox;
class QGridLayout;
class QCustomPlot;
class QCPItemText;
class QCPItemTracer;
class QLabel;
class QMouseEvent;
class QSlider;
class QTimer;

namespace studio::ui {

struct RunEvent;

class TrainingPlot : public QWidget {
  Q_OBJECT

 public:
  enum Chart { Losses, LearningRate, Throughput, Timing, GpuMemory, Evaluation, ChartCount };

  explicit TrainingPlot(QWidget* parent = nullptr);

  // A new run (empty); returns its id. Names appear in the legends.
  int addRun(const QString& name);
  void removeRun(int run);
  void clearRuns();
  // Forgets the points of a run (its events.jsonl was rewritten and is read again).
  void clearRun(int run);
  [[nodiscard]] QVector<int> runIds() const;
  [[nodiscard]] QString runName(int run) const;
  // Takes the numbers of a train or eval event; other events are ignored. Redraws soon after.
  void addEvent(int run, const RunEvent& event);

  void setSmoothing(double weight);  // 0 (none) .. 0.99
  [[nodiscard]] double smoothing() const { return smoothing_; }
  void setLogScale(bool on);
  [[nodiscard]] bool logScale() const { return logScale_; }

  // Writes every visible chart into one file: .png (raster) or .pdf (vector). False on failure.
  bool save(const QString& path);

  // For tests and other pages: raw points of series `key` ("loss", "lr", "segm.AP", ...) in `run`.
  [[nodiscard]] int pointCount(int run, const QString& key) const;
  // Data points currently drawn in a chart (all its graphs, smoothed or raw).
  [[nodiscard]] int drawnPoints(Chart chart) const;
  [[nodiscard]] QCustomPlot* chart(Chart chart) const { return plots_[chart]; }
  // The hover label's text ("loss\niteration 3: 2.5"), empty while none is shown.
  [[nodiscard]] QString hoverText(Chart chart) const;
  // Redraws now instead of on the next timer tick.
  void redrawNow();

 private:
  struct Series {
    QVector<double> x, y;
  };
  struct Run {
    QString name;
    QColor color;
    QMap<QString, Series> series;  // ordered by key so the legends are stable
  };

  void scheduleRedraw();
  void redraw();
  void drawChart(Chart chart);
  [[nodiscard]] QStringList keysOf(Chart chart) const;
  void onMouseMove(Chart chart, QMouseEvent* event);
  void hideHover(Chart chart);
  bool eventFilter(QObject* watched, QEvent* event) override;
  void saveWithDialog();

  QMap<int, Run> runs_;
  int nextRun_ = 0;
  double smoothing_ = 0.6;
  bool logScale_ = false;
  QCustomPlot* plots_[ChartCount];
  QCPItemTracer* tracers_[ChartCount];
  QCPItemText* labels_[ChartCount];
  QCPItemText* empty_[ChartCount];  // "no data yet" in the middle of an empty chart
  QGridLayout* grid_;
  // False once the user zoomed or panned a chart: new points then leave the view alone.
  bool autoRange_[ChartCount];
  QSlider* smoothingSlider_;
  QLabel* smoothingValue_;
  QCheckBox* logBox_;
  QTimer* redrawTimer_;
};

}  // namespace studio::ui
