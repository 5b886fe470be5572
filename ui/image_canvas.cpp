#include "image_canvas.h"

#include <QFontMetricsF>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "class_colors.h"

namespace studio::ui {

namespace {

constexpr double kMinScale = 0.02;
constexpr double kMaxScale = 64.0;
constexpr double kFitMargin = 8.0;  // widget pixels kept free around a fitted image
constexpr double kWheelStep = 1.25;

QColor withAlpha(QColor color, double alpha) {
  color.setAlphaF(static_cast<float>(alpha));
  return color;
}

}  // namespace

ImageCanvas::ImageCanvas(QWidget* parent) : QWidget(parent) {
  setFocusPolicy(Qt::StrongFocus);
  setMouseTracking(false);
  setCursor(Qt::OpenHandCursor);
  setAttribute(Qt::WA_OpaquePaintEvent);
  setToolTip(tr("Wheel: zoom, drag: pan, double click: fit, Left/Right: previous/next image"));
}

void ImageCanvas::setScene(const QImage& image, QSize imageSize, std::vector<OverlayShape> shapes,
                           const QString& message) {
  pixmap_ = image.isNull() ? QPixmap() : QPixmap::fromImage(image);
  imageSize_ = image.isNull() ? imageSize : image.size();
  message_ = message;
  shapes_ = std::move(shapes);
  highlighted_.reset();
  // A new image starts fitted; keeping the old zoom would show a random corner of it.
  zoomToFit();
}

void ImageCanvas::clear() { setScene({}, {}, {}, {}); }

void ImageCanvas::setHighlightedAnnotation(std::optional<qint64> annotationId) {
  highlighted_ = annotationId;
  update();
}

void ImageCanvas::setOverlayVisible(bool visible) {
  overlayVisible_ = visible;
  update();
}

QSizeF ImageCanvas::contentSize() const {
  if (imageSize_.isValid() && !imageSize_.isEmpty()) return imageSize_;
  // Unknown image size (a TXT list whose image is missing): span the boxes.
  QRectF bounds;
  for (const auto& shape : shapes_) bounds |= shape.box;
  return bounds.isEmpty() ? QSizeF() : QSizeF(bounds.right(), bounds.bottom());
}

QPointF ImageCanvas::imageToWidget(QPointF imagePoint) const { return offset_ + imagePoint * scale_; }

void ImageCanvas::zoomToFit() {
  fit_ = true;
  const QSizeF content = contentSize();
  if (content.isEmpty()) {
    scale_ = 1.0;
    offset_ = {};
  } else {
    const double sx = (width() - 2 * kFitMargin) / content.width();
    const double sy = (height() - 2 * kFitMargin) / content.height();
    scale_ = std::clamp(std::min(sx, sy), kMinScale, kMaxScale);
    offset_ = QPointF((width() - content.width() * scale_) / 2, (height() - content.height() * scale_) / 2);
  }
  emit zoomChanged(scale_);
  update();
}

void ImageCanvas::zoomBy(double factor) { zoomAbout(QPointF(width() / 2.0, height() / 2.0), factor); }

void ImageCanvas::zoomAbout(QPointF widgetPoint, double factor) {
  const double newScale = std::clamp(scale_ * factor, kMinScale, kMaxScale);
  // Keep the image point under the cursor where it is.
  const QPointF imagePoint = (widgetPoint - offset_) / scale_;
  scale_ = newScale;
  offset_ = widgetPoint - imagePoint * scale_;
  fit_ = false;
  emit zoomChanged(scale_);
  update();
}

void ImageCanvas::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().color(QPalette::Dark).darker(160));
  lastCounts_ = {};
  lastLabelRects_.clear();

  const QSizeF content = contentSize();
  if (content.isEmpty()) {
    painter.setPen(palette().color(QPalette::BrightText));
    painter.drawText(rect(), Qt::AlignCenter, message_.isEmpty() ? tr("No image") : message_);
    return;
  }

  painter.save();
  painter.translate(offset_);
  painter.scale(scale_, scale_);
  const QRectF imageRect(QPointF(0, 0), content);
  if (!pixmap_.isNull()) {
    // Smooth when shrinking; sharp pixels when zoomed in, where a person inspects mask edges.
    painter.setRenderHint(QPainter::SmoothPixmapTransform, scale_ < 2.0);
    painter.drawPixmap(QPointF(0, 0), pixmap_);
  } else {
    painter.fillRect(imageRect, QColor(90, 90, 90));
  }

  if (overlayVisible_) {
    painter.setRenderHint(QPainter::Antialiasing, true);
    // The highlighted shape last, so nothing covers it.
    for (const auto& shape : shapes_)
      if (shape.annotationId != highlighted_) drawShape(painter, shape, false, highlighted_.has_value());
    for (const auto& shape : shapes_)
      if (shape.annotationId == highlighted_) drawShape(painter, shape, true, false);
  }
  painter.restore();

  if (pixmap_.isNull() && !message_.isEmpty()) {
    const QRectF area(imageToWidget({0, 0}), content * scale_);
    painter.setPen(Qt::white);
    painter.drawText(area.adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap, message_);
  }

  if (overlayVisible_) {
    // Labels in widget coordinates: they keep a readable size at every zoom.
    for (const auto& shape : shapes_)
      if (shape.annotationId != highlighted_) drawLabel(painter, shape, false, highlighted_.has_value());
    for (const auto& shape : shapes_)
      if (shape.annotationId == highlighted_) drawLabel(painter, shape, true, false);
  }
}

void ImageCanvas::drawShape(QPainter& painter, const OverlayShape& shape, bool highlighted, bool dimmed) {
  const double maskAlpha = highlighted ? kHighlightMaskAlpha : dimmed ? kDimmedMaskAlpha : kMaskAlpha;
  if (!shape.outline.isEmpty()) {
    painter.fillPath(shape.outline, withAlpha(shape.color, maskAlpha));
    if (highlighted) {
      QPen edge(Qt::white, 2.0);
      edge.setCosmetic(true);
      painter.strokePath(shape.outline, edge);
    }
    ++lastCounts_.masks;
  } else if (!shape.mask.isNull()) {
    painter.save();
    painter.setOpacity(maskAlpha);
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.drawImage(QPointF(0, 0), shape.mask);
    painter.restore();
    ++lastCounts_.masks;
  }

  painter.setBrush(Qt::NoBrush);
  if (highlighted) {
    // A dark halo under a thick line in the class colour stands out on any background.
    QPen halo(QColor(0, 0, 0, 200), 7.0);
    halo.setCosmetic(true);
    halo.setJoinStyle(Qt::MiterJoin);
    painter.setPen(halo);
    painter.drawRect(shape.box);
    QPen line(shape.color.lighter(120), 3.5);
    line.setCosmetic(true);
    line.setJoinStyle(Qt::MiterJoin);
    painter.setPen(line);
    painter.drawRect(shape.box);
    QPen dash(Qt::white, 1.5, Qt::DashLine);
    dash.setCosmetic(true);
    painter.setPen(dash);
    painter.drawRect(shape.box);
  } else {
    QPen pen(withAlpha(shape.color, dimmed ? 0.35 : 1.0), 2.0);
    pen.setCosmetic(true);
    painter.setPen(pen);
    painter.drawRect(shape.box);
  }
  ++lastCounts_.boxes;
}

void ImageCanvas::drawLabel(QPainter& painter, const OverlayShape& shape, bool highlighted, bool dimmed) {
  QFont font = painter.font();
  font.setBold(highlighted);
  painter.setFont(font);
  const QFontMetricsF metrics(font);
  const QSizeF textSize(metrics.horizontalAdvance(shape.label) + 8, metrics.height() + 2);
  const QPointF corner = imageToWidget(shape.box.topLeft());
  // Above the box when there is room, otherwise just inside its top edge.
  QPointF topLeft(corner.x(), corner.y() - textSize.height());
  if (topLeft.y() < 0) topLeft.setY(corner.y());
  topLeft.setX(std::clamp(topLeft.x(), 0.0, std::max(0.0, width() - textSize.width())));
  const QRectF labelRect(topLeft, textSize);

  const double alpha = dimmed ? 0.45 : 0.9;
  painter.setPen(Qt::NoPen);
  painter.setBrush(withAlpha(shape.color, alpha));
  painter.drawRect(labelRect);
  painter.setPen(withAlpha(textColorOn(shape.color), dimmed ? 0.6 : 1.0));
  painter.drawText(labelRect, Qt::AlignCenter, shape.label);
  lastLabelRects_.push_back(labelRect);
  ++lastCounts_.labels;
}

void ImageCanvas::resizeEvent(QResizeEvent*) {
  if (fit_) zoomToFit();
}

void ImageCanvas::wheelEvent(QWheelEvent* event) {
  const double steps = event->angleDelta().y() / 120.0;
  if (steps == 0) return;
  zoomAbout(event->position(), std::pow(kWheelStep, steps));
  event->accept();
}

void ImageCanvas::mousePressEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return QWidget::mousePressEvent(event);
  dragStart_ = event->position();
  setCursor(Qt::ClosedHandCursor);
}

void ImageCanvas::mouseMoveEvent(QMouseEvent* event) {
  if (!dragStart_) return QWidget::mouseMoveEvent(event);
  offset_ += event->position() - *dragStart_;
  dragStart_ = event->position();
  fit_ = false;
  update();
}

void ImageCanvas::mouseReleaseEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return QWidget::mouseReleaseEvent(event);
  dragStart_.reset();
  setCursor(Qt::OpenHandCursor);
}

void ImageCanvas::mouseDoubleClickEvent(QMouseEvent* event) {
  if (event->button() == Qt::LeftButton) zoomToFit();
}

void ImageCanvas::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Left:
    case Qt::Key_PageUp:
    case Qt::Key_Backspace:
      emit previousRequested();
      break;
    case Qt::Key_Right:
    case Qt::Key_PageDown:
    case Qt::Key_Space:
      emit nextRequested();
      break;
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      zoomBy(kWheelStep);
      break;
    case Qt::Key_Minus:
      zoomBy(1.0 / kWheelStep);
      break;
    case Qt::Key_0:
    case Qt::Key_F:
      zoomToFit();
      break;
    default:
      QWidget::keyPressEvent(event);
  }
}

}  // namespace studio::ui
