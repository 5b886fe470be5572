#pragma once
// Draws one image with a model's predictions and the ground truth, each prediction styled by
// how it matched (true positive: green solid, false positive: red dashed, ignored by a crowd:
// grey dotted, missed object: orange outline). Masks are filled in the class colour and
// outlined; boxes carry the match style; labels give class and score.
//
// The ground truth can be hidden, drawn over the predictions (thin white outlines) or beside
// them in a second pane that shares the zoom and pan. The wheel zooms about the cursor,
// dragging pans, a double click fits again.
#include <QColor>
#include <QImage>
#include <QPainterPath>
#include <QPixmap>
#include <QPoint>
#include <QRectF>
#include <QString>
#include <QWidget>
#include <optional>
#include <vector>

namespace studio::ui {

class PredictionViewer : public QWidget {
  Q_OBJECT

 public:
  enum class GroundTruthMode { Hidden, Over, Beside };
  enum class Style { TruePositive, FalsePositive, Ignored, Missed, GroundTruth };

  // One thing to draw, in image pixel coordinates.
  struct Item {
    Style style = Style::GroundTruth;
    QRectF box;
    QImage mask;           // class colour on transparent, covering `maskOrigin` + its size; may be null
    QPoint maskOrigin;     // image position of the mask's top-left pixel
    QPainterPath fill;     // polygon masks: the area to fill (instead of `mask`)
    QPainterPath contour;  // the mask's outline (pixel edges or the polygon)
    QColor color;          // class colour
    QString label;         // "circle 0.93"
    [[nodiscard]] bool hasMask() const { return !mask.isNull() || !fill.isEmpty(); }
  };

  // What the last paint drew, so tests and the status line can tell what is on screen.
  struct DrawCounts {
    int predictions = 0;      // boxes of predictions (TP, FP, ignored)
    int predictionMasks = 0;  // filled prediction masks
    int truePositives = 0;
    int falsePositives = 0;
    int missed = 0;       // missed objects outlined
    int groundTruth = 0;  // other ground-truth objects drawn
    int labels = 0;
  };

  explicit PredictionViewer(QWidget* parent = nullptr);

  // A new image: fits it to the view. A null image with a valid `imageSize` draws a grey
  // stand-in carrying `message` (the file is missing), so the shapes can still be looked at.
  void setImage(const QImage& image, QSize imageSize, const QString& message = {});
  // The shapes for the current image; keeps the zoom (the threshold moved, not the image).
  // `predictions` hold TP/FP/ignored items, `groundTruth` every object (Missed or GroundTruth).
  void setItems(std::vector<Item> predictions, std::vector<Item> groundTruth);
  // The image's pixels once they are read (off the GUI thread): the items and the view stay,
  // unless the pixels' size differs from the size the view was laid out for.
  void setPixels(const QImage& image, const QString& message = {});
  void clear();

  void setGroundTruthMode(GroundTruthMode mode);
  [[nodiscard]] GroundTruthMode groundTruthMode() const { return mode_; }
  void setLabelsVisible(bool visible);
  [[nodiscard]] bool labelsVisible() const { return labels_; }

  [[nodiscard]] DrawCounts lastDrawCounts() const { return counts_; }
  [[nodiscard]] const std::vector<Item>& predictions() const { return predictions_; }
  [[nodiscard]] const std::vector<Item>& groundTruth() const { return groundTruth_; }
  [[nodiscard]] double zoom() const { return scale_; }
  [[nodiscard]] bool hasPixels() const { return !pixmap_.isNull(); }
  [[nodiscard]] QString message() const { return message_; }

  // The pen a style's boxes are drawn with (cosmetic), and a small sample of it for legends.
  static QPen stylePen(Style style);
  static QColor styleColor(Style style);
  static QPixmap styleSample(Style style, QSize size = {28, 16});

  // An item's mask (and outline) from a row-major h x w 0/1 mask: cropped to its foreground.
  static void setMaskFromBits(Item& item, const std::uint8_t* bits, int width, int height);

  QSize sizeHint() const override { return {720, 520}; }
  QSize minimumSizeHint() const override { return {200, 150}; }

 public slots:
  void zoomToFit();

 signals:
  void previousRequested();
  void nextRequested();

 protected:
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;

 private:
  [[nodiscard]] int paneCount() const { return mode_ == GroundTruthMode::Beside ? 2 : 1; }
  [[nodiscard]] QRectF paneRect(int pane) const;
  [[nodiscard]] QSizeF contentSize() const;
  void paintPane(QPainter& painter, int pane);
  void drawMask(QPainter& painter, const Item& item, double alpha);
  void drawLabel(QPainter& painter, const QRectF& pane, const Item& item, const QColor& background);
  void zoomAbout(QPointF panePoint, double factor);
  // Predictions in painting order (bottom first).
  [[nodiscard]] std::vector<const Item*> drawOrder() const;

  QPixmap pixmap_;
  QSize imageSize_;
  QString message_;
  std::vector<Item> predictions_;
  std::vector<Item> groundTruth_;
  GroundTruthMode mode_ = GroundTruthMode::Over;
  bool labels_ = true;

  // Pane position of the image origin and widget pixels per image pixel, shared by both panes.
  QPointF offset_;
  double scale_ = 1.0;
  bool fit_ = true;
  std::optional<QPointF> dragStart_;
  DrawCounts counts_;
  std::vector<QRectF> placedLabels_;  // labels of the pane being painted, to keep them apart
};

}  // namespace studio::ui
