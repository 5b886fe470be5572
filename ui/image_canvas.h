#pragma once
// Draws an image with annotation shapes over it: filled semi-transparent masks, boxes and class
// labels. The wheel zooms about the cursor, dragging pans, a double click fits the image again.
// One shape can be highlighted (thicker two-tone outline, the others dimmed).
#include <QImage>
#include <QPixmap>
#include <QPointF>
#include <QVector>
#include <QWidget>
#include <optional>
#include <vector>

#include "annotation_overlay.h"

namespace studio::ui {

class ImageCanvas : public QWidget {
  Q_OBJECT

 public:
  // What the last paint drew, so tests and the status line can tell what is on screen.
  struct DrawCounts {
    int boxes = 0;
    int masks = 0;
    int labels = 0;
  };

  explicit ImageCanvas(QWidget* parent = nullptr);

  // A null image with a non-empty `imageSize` draws a grey stand-in of that size carrying
  // `message` (e.g. the file is missing), so the annotations can still be looked at.
  void setScene(const QImage& image, QSize imageSize, std::vector<OverlayShape> shapes,
                const QString& message = {});
  void clear();

  void setHighlightedAnnotation(std::optional<qint64> annotationId);
  [[nodiscard]] std::optional<qint64> highlightedAnnotation() const { return highlighted_; }
  void setOverlayVisible(bool visible);
  [[nodiscard]] bool overlayVisible() const { return overlayVisible_; }

  [[nodiscard]] const std::vector<OverlayShape>& shapes() const { return shapes_; }
  [[nodiscard]] DrawCounts lastDrawCounts() const { return lastCounts_; }
  // Widget rectangles of the labels drawn by the last paint.
  [[nodiscard]] const QVector<QRectF>& lastLabelRects() const { return lastLabelRects_; }
  [[nodiscard]] QPointF imageToWidget(QPointF imagePoint) const;
  [[nodiscard]] double zoom() const { return scale_; }

  // Mask fill opacity for normal, dimmed and highlighted shapes.
  static constexpr double kMaskAlpha = 0.45;
  static constexpr double kDimmedMaskAlpha = 0.12;
  static constexpr double kHighlightMaskAlpha = 0.55;

  QSize sizeHint() const override { return {640, 480}; }
  QSize minimumSizeHint() const override { return {160, 120}; }

 public slots:
  void zoomToFit();
  void zoomBy(double factor);

 signals:
  void zoomChanged(double zoom);
  // Left/Right and Page Up/Down over the canvas ask the browser for another image.
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
  [[nodiscard]] QSizeF contentSize() const;
  void zoomAbout(QPointF widgetPoint, double factor);
  void drawShape(QPainter& painter, const OverlayShape& shape, bool highlighted, bool dimmed);
  void drawLabel(QPainter& painter, const OverlayShape& shape, bool highlighted, bool dimmed);

  QPixmap pixmap_;
  QSize imageSize_;
  QString message_;
  std::vector<OverlayShape> shapes_;
  std::optional<qint64> highlighted_;
  bool overlayVisible_ = true;

  // Widget position of the image origin and pixels per image pixel.
  QPointF offset_;
  double scale_ = 1.0;
  bool fit_ = true;  // refit on resize until the user zooms or pans
  std::optional<QPointF> dragStart_;

  DrawCounts lastCounts_;
  QVector<QRectF> lastLabelRects_;
};

}  // namespace studio::ui
