#include "prediction_viewer.h"

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
constexpr double kFitMargin = 8.0;
constexpr double kWheelStep = 1.25;
constexpr double kPaneGap = 4.0;  // widget pixels between the two panes
constexpr double kMaskAlpha = 0.42;

QColor withAlpha(QColor color, double alpha) {
  color.setAlphaF(static_cast<float>(alpha));
  return color;
}

}  // namespace

QColor PredictionViewer::styleColor(Style style) {
  switch (style) {
    case Style::TruePositive:
      return QColor(46, 204, 64);
    case Style::FalsePositive:
      return QColor(255, 55, 55);
    case Style::Ignored:
      return QColor(170, 170, 170);
    case Style::Missed:
      return QColor(255, 140, 0);
    case Style::GroundTruth:
      return QColor(255, 255, 255);
  }
  return Qt::white;
}

QPen PredictionViewer::stylePen(Style style) {
  QPen pen(styleColor(style), 2.0);
  pen.setCosmetic(true);
  pen.setJoinStyle(Qt::MiterJoin);
  switch (style) {
    case Style::TruePositive:
      break;
    case Style::FalsePositive:
      pen.setStyle(Qt::DashLine);
      break;
    case Style::Ignored:
      pen.setWidthF(1.5);
      pen.setStyle(Qt::DotLine);
      break;
    case Style::Missed:
      pen.setWidthF(3.0);
      break;
    case Style::GroundTruth:
      pen.setWidthF(1.0);
      pen.setStyle(Qt::DashLine);
      break;
  }
  return pen;
}

QPixmap PredictionViewer::styleSample(Style style, QSize size) {
  QPixmap pixmap(size);
  pixmap.fill(Qt::transparent);
  QPainter painter(&pixmap);
  // The samples sit on the window background: a dark plate lets white and grey show.
  painter.fillRect(pixmap.rect(), QColor(60, 60, 60));
  if (style != Style::Missed && style != Style::GroundTruth)
    painter.fillRect(pixmap.rect().adjusted(3, 3, -3, -3), withAlpha(QColor(80, 140, 230), kMaskAlpha));
  painter.setPen(stylePen(style));
  painter.drawRect(QRectF(pixmap.rect()).adjusted(2, 2, -2.5, -2.5));
  return pixmap;
}

void PredictionViewer::setMaskFromBits(Item& item, const std::uint8_t* bits, int width, int height) {
  int x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (int y = 0; y < height; ++y) {
    const std::uint8_t* row = bits + static_cast<std::size_t>(y) * width;
    for (int x = 0; x < width; ++x)
      if (row[x]) {
        x0 = std::min(x0, x);
        x1 = std::max(x1, x);
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
      }
  }
  item.mask = QImage();
  item.contour = QPainterPath();
  if (x1 < 0) return;  // an empty mask: only the box is drawn
  const auto at = [&](int x, int y) {
    return x >= x0 && x <= x1 && y >= y0 && y <= y1 && bits[static_cast<std::size_t>(y) * width + x] != 0;
  };
  QImage image(x1 - x0 + 1, y1 - y0 + 1, QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::transparent);
  const QRgb on = item.color.rgba();
  for (int y = y0; y <= y1; ++y) {
    auto* out = reinterpret_cast<QRgb*>(image.scanLine(y - y0));
    const std::uint8_t* row = bits + static_cast<std::size_t>(y) * width;
    for (int x = x0; x <= x1; ++x)
      if (row[x]) out[x - x0] = on;
  }
  item.mask = image;
  item.maskOrigin = QPoint(x0, y0);

  // The outline along pixel edges: each maximal run of edges between a set and an unset pixel
  // becomes one segment, so a mask of a few hundred pixels across costs a few hundred segments.
  QPainterPath contour;
  for (int y = y0; y <= y1 + 1; ++y)
    for (int x = x0; x <= x1;) {
      if (at(x, y - 1) == at(x, y)) {
        ++x;
        continue;
      }
      const int start = x;
      const bool above = at(x, y - 1);
      while (x <= x1 && at(x, y - 1) != at(x, y) && at(x, y - 1) == above) ++x;
      contour.moveTo(start, y);
      contour.lineTo(x, y);
    }
  for (int x = x0; x <= x1 + 1; ++x)
    for (int y = y0; y <= y1;) {
      if (at(x - 1, y) == at(x, y)) {
        ++y;
        continue;
      }
      const int start = y;
      const bool left = at(x - 1, y);
      while (y <= y1 && at(x - 1, y) != at(x, y) && at(x - 1, y) == left) ++y;
      contour.moveTo(x, start);
      contour.lineTo(x, y);
    }
  item.contour = contour;
}

PredictionViewer::PredictionViewer(QWidget* parent) : QWidget(parent) {
  setFocusPolicy(Qt::StrongFocus);
  setCursor(Qt::OpenHandCursor);
  setAttribute(Qt::WA_OpaquePaintEvent);
  setToolTip(tr("Wheel: zoom, drag: pan, double click: fit, Left/Right: previous/next image"));
}

void PredictionViewer::setImage(const QImage& image, QSize imageSize, const QString& message) {
  pixmap_ = image.isNull() ? QPixmap() : QPixmap::fromImage(image);
  imageSize_ = image.isNull() ? imageSize : image.size();
  message_ = message;
  predictions_.clear();
  groundTruth_.clear();
  zoomToFit();
}

void PredictionViewer::setPixels(const QImage& image, const QString& message) {
  pixmap_ = image.isNull() ? QPixmap() : QPixmap::fromImage(image);
  message_ = message;
  if (!image.isNull() && image.size() != imageSize_) {
    imageSize_ = image.size();
    zoomToFit();
  }
  update();
}

void PredictionViewer::setItems(std::vector<Item> predictions, std::vector<Item> groundTruth) {
  predictions_ = std::move(predictions);
  groundTruth_ = std::move(groundTruth);
  update();
}

void PredictionViewer::clear() { setImage({}, {}, {}); }

void PredictionViewer::setGroundTruthMode(GroundTruthMode mode) {
  if (mode_ == mode) return;
  mode_ = mode;
  // The pane size changes with the number of panes.
  if (fit_) zoomToFit();
  update();
}

void PredictionViewer::setLabelsVisible(bool visible) {
  labels_ = visible;
  update();
}

QRectF PredictionViewer::paneRect(int pane) const {
  if (paneCount() == 1) return QRectF(rect());
  const double w = (width() - kPaneGap) / 2.0;
  return QRectF(pane == 0 ? 0.0 : w + kPaneGap, 0, w, height());
}

QSizeF PredictionViewer::contentSize() const {
  if (imageSize_.isValid() && !imageSize_.isEmpty()) return imageSize_;
  QRectF bounds;
  for (const auto& item : predictions_) bounds |= item.box;
  for (const auto& item : groundTruth_) bounds |= item.box;
  return bounds.isEmpty() ? QSizeF() : QSizeF(bounds.right(), bounds.bottom());
}

void PredictionViewer::zoomToFit() {
  fit_ = true;
  const QSizeF content = contentSize();
  const QRectF pane = paneRect(0);
  if (content.isEmpty()) {
    scale_ = 1.0;
    offset_ = {};
  } else {
    const double sx = (pane.width() - 2 * kFitMargin) / content.width();
    const double sy = (pane.height() - 2 * kFitMargin) / content.height();
    scale_ = std::clamp(std::min(sx, sy), kMinScale, kMaxScale);
    offset_ = QPointF((pane.width() - content.width() * scale_) / 2,
                      (pane.height() - content.height() * scale_) / 2);
  }
  update();
}

void PredictionViewer::zoomAbout(QPointF panePoint, double factor) {
  const double newScale = std::clamp(scale_ * factor, kMinScale, kMaxScale);
  const QPointF imagePoint = (panePoint - offset_) / scale_;
  scale_ = newScale;
  offset_ = panePoint - imagePoint * scale_;
  fit_ = false;
  update();
}

void PredictionViewer::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().color(QPalette::Window));
  counts_ = {};
  for (int pane = 0; pane < paneCount(); ++pane) paintPane(painter, pane);
}

void PredictionViewer::drawMask(QPainter& painter, const Item& item, double alpha) {
  if (!item.fill.isEmpty()) {
    painter.fillPath(item.fill, withAlpha(item.color, alpha));
  } else if (!item.mask.isNull()) {
    painter.save();
    painter.setOpacity(alpha);
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.drawImage(item.maskOrigin, item.mask);
    painter.restore();
  }
}

std::vector<const PredictionViewer::Item*> PredictionViewer::drawOrder() const {
  // True positives first, false positives last, so errors are never hidden under a correct
  // prediction (a duplicate has nearly the same box); within a kind the most confident on top.
  std::vector<const Item*> order;
  order.reserve(predictions_.size());
  for (Style style : {Style::TruePositive, Style::Ignored, Style::FalsePositive})
    for (auto it = predictions_.rbegin(); it != predictions_.rend(); ++it)
      if (it->style == style) order.push_back(&*it);
  return order;
}

void PredictionViewer::paintPane(QPainter& painter, int pane) {
  const QRectF area = paneRect(pane);
  const bool groundTruthPane = mode_ == GroundTruthMode::Beside && pane == 0;
  painter.save();
  painter.setClipRect(area);
  painter.fillRect(area, palette().color(QPalette::Dark).darker(160));
  const QSizeF content = contentSize();
  if (content.isEmpty()) {
    painter.setPen(palette().color(QPalette::BrightText));
    painter.drawText(area, Qt::AlignCenter, message_.isEmpty() ? tr("No image") : message_);
    painter.restore();
    return;
  }

  painter.save();
  painter.translate(area.topLeft() + offset_);
  painter.scale(scale_, scale_);
  if (!pixmap_.isNull()) {
    painter.setRenderHint(QPainter::SmoothPixmapTransform, scale_ < 2.0);
    painter.drawPixmap(QPointF(0, 0), pixmap_);
  } else {
    painter.fillRect(QRectF(QPointF(0, 0), content), QColor(90, 90, 90));
  }
  painter.setRenderHint(QPainter::Antialiasing, true);
  painter.setBrush(Qt::NoBrush);

  if (groundTruthPane) {
    // The reference as the dataset page shows it: class colours, filled.
    for (const Item& item : groundTruth_) {
      drawMask(painter, item, kMaskAlpha);
      QPen pen(item.style == Style::Missed ? styleColor(Style::Missed) : item.color,
               item.style == Style::Missed ? 3.0 : 2.0);
      pen.setCosmetic(true);
      painter.setPen(pen);
      if (item.style == Style::Missed && !item.contour.isEmpty()) painter.drawPath(item.contour);
      painter.drawRect(item.box);
      ++(item.style == Style::Missed ? counts_.missed : counts_.groundTruth);
    }
  } else {
    if (mode_ == GroundTruthMode::Over) {
      painter.setPen(stylePen(Style::GroundTruth));
      for (const Item& item : groundTruth_) {
        if (item.style == Style::Missed) continue;
        if (item.contour.isEmpty())
          painter.drawRect(item.box);
        else
          painter.drawPath(item.contour);
        ++counts_.groundTruth;
      }
    }
    for (const Item* pointer : drawOrder()) {
      const Item& item = *pointer;
      if (item.hasMask()) {
        drawMask(painter, item, item.style == Style::Ignored ? kMaskAlpha / 2 : kMaskAlpha);
        QPen edge(styleColor(item.style), 1.5);
        edge.setCosmetic(true);
        painter.setPen(edge);
        painter.drawPath(item.contour);
        ++counts_.predictionMasks;
      }
      painter.setPen(stylePen(item.style));
      painter.drawRect(item.box);
      ++counts_.predictions;
      if (item.style == Style::TruePositive) ++counts_.truePositives;
      if (item.style == Style::FalsePositive) ++counts_.falsePositives;
    }
    // Missed objects last: an orange outline nothing covers.
    for (const Item& item : groundTruth_) {
      if (item.style != Style::Missed) continue;
      QPen halo(QColor(0, 0, 0, 160), 5.0);
      halo.setCosmetic(true);
      painter.setPen(halo);
      if (!item.contour.isEmpty()) painter.drawPath(item.contour);
      painter.setPen(stylePen(Style::Missed));
      if (!item.contour.isEmpty()) painter.drawPath(item.contour);
      QPen box = stylePen(Style::Missed);
      box.setWidthF(1.5);
      box.setStyle(Qt::DashDotLine);
      painter.setPen(box);
      painter.drawRect(item.box);
      ++counts_.missed;
    }
  }
  painter.restore();

  if (pixmap_.isNull() && !message_.isEmpty()) {
    painter.setPen(Qt::white);
    painter.drawText(QRectF(area.topLeft() + offset_, content * scale_).adjusted(8, 8, -8, -8),
                     Qt::AlignCenter | Qt::TextWordWrap, message_);
  }

  if (labels_) {
    placedLabels_.clear();
    if (groundTruthPane) {
      for (const Item& item : groundTruth_)
        drawLabel(painter, area, item, item.style == Style::Missed ? styleColor(Style::Missed) : item.color);
    } else {
      for (const Item* item : drawOrder()) drawLabel(painter, area, *item, styleColor(item->style));
      for (const Item& item : groundTruth_)
        if (item.style == Style::Missed) drawLabel(painter, area, item, styleColor(Style::Missed));
    }
  }

  if (mode_ == GroundTruthMode::Beside) {
    // Which pane is which, in the top-left corner.
    const QString title = groundTruthPane ? tr("Ground truth") : tr("Predictions");
    const QFontMetricsF metrics(painter.font());
    const QRectF titleRect(area.topLeft() + QPointF(6, 6),
                           QSizeF(metrics.horizontalAdvance(title) + 12, metrics.height() + 4));
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(0, 0, 0, 170));
    painter.drawRoundedRect(titleRect, 3, 3);
    painter.setPen(Qt::white);
    painter.drawText(titleRect, Qt::AlignCenter, title);
  }
  painter.restore();
}

void PredictionViewer::drawLabel(QPainter& painter, const QRectF& pane, const Item& item,
                                 const QColor& background) {
  if (item.label.isEmpty()) return;
  const QFontMetricsF metrics(painter.font());
  const QSizeF textSize(metrics.horizontalAdvance(item.label) + 8, metrics.height() + 2);
  QPointF topLeft;
  if (item.style == Style::Missed) {
    // Missed objects are labelled under their box: the top corner usually carries the label of
    // the prediction that went wrong on them.
    const QPointF corner = pane.topLeft() + offset_ + item.box.bottomLeft() * scale_;
    topLeft = QPointF(corner.x(), corner.y());
    if (topLeft.y() + textSize.height() > pane.bottom()) topLeft.setY(corner.y() - textSize.height());
  } else {
    const QPointF corner = pane.topLeft() + offset_ + item.box.topLeft() * scale_;
    topLeft = QPointF(corner.x(), corner.y() - textSize.height());
    if (topLeft.y() < pane.top()) topLeft.setY(corner.y());
  }
  topLeft.setX(std::clamp(topLeft.x(), pane.left(), std::max(pane.left(), pane.right() - textSize.width())));
  QRectF labelRect(topLeft, textSize);
  // Step down past labels already placed (a duplicate sits on the box of the object it repeats).
  for (int tries = 0; tries < 8; ++tries) {
    const bool overlaps = std::any_of(placedLabels_.begin(), placedLabels_.end(),
                                      [&](const QRectF& r) { return r.intersects(labelRect); });
    if (!overlaps) break;
    labelRect.translate(0, textSize.height());
  }
  placedLabels_.push_back(labelRect);
  painter.setPen(Qt::NoPen);
  painter.setBrush(withAlpha(background, 0.88));
  painter.drawRect(labelRect);
  painter.setPen(textColorOn(background));
  painter.drawText(labelRect, Qt::AlignCenter, item.label);
  ++counts_.labels;
}

void PredictionViewer::resizeEvent(QResizeEvent*) {
  if (fit_) zoomToFit();
}

void PredictionViewer::wheelEvent(QWheelEvent* event) {
  const double steps = event->angleDelta().y() / 120.0;
  if (steps == 0) return;
  const QPointF p = event->position();
  const int pane = paneCount() == 2 && p.x() > paneRect(1).left() ? 1 : 0;
  zoomAbout(p - paneRect(pane).topLeft(), std::pow(kWheelStep, steps));
  event->accept();
}

void PredictionViewer::mousePressEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return QWidget::mousePressEvent(event);
  dragStart_ = event->position();
  setCursor(Qt::ClosedHandCursor);
}

void PredictionViewer::mouseMoveEvent(QMouseEvent* event) {
  if (!dragStart_) return QWidget::mouseMoveEvent(event);
  offset_ += event->position() - *dragStart_;
  dragStart_ = event->position();
  fit_ = false;
  update();
}

void PredictionViewer::mouseReleaseEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return QWidget::mouseReleaseEvent(event);
  dragStart_.reset();
  setCursor(Qt::OpenHandCursor);
}

void PredictionViewer::mouseDoubleClickEvent(QMouseEvent* event) {
  if (event->button() == Qt::LeftButton) zoomToFit();
}

void PredictionViewer::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Left:
    case Qt::Key_PageUp:
      emit previousRequested();
      break;
    case Qt::Key_Right:
    case Qt::Key_PageDown:
      emit nextRequested();
      break;
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      zoomAbout(paneRect(0).center() - paneRect(0).topLeft(), kWheelStep);
      break;
    case Qt::Key_Minus:
      zoomAbout(paneRect(0).center() - paneRect(0).topLeft(), 1.0 / kWheelStep);
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
