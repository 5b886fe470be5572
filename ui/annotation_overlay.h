#pragma once
// The ground truth of one image turned into things a QPainter draws: a box, a filled mask
// (a vector path for polygons, an image for RLE masks) and a label, each in its class colour.
// Kept apart from the canvas so the canvas knows nothing about datasets and can later draw
// predictions the same way.
#include <QColor>
#include <QImage>
#include <QPainterPath>
#include <QRectF>
#include <QString>
#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace studio::ui {

struct OverlayShape {
  qint64 annotationId = 0;
  QRectF box;            // image pixel coordinates (COCO: x, y, w, h)
  QPainterPath outline;  // polygon masks; empty otherwise
  QImage mask;           // RLE masks: opaque class colour on transparent, image-sized
  QColor color;
  QString label;
  [[nodiscard]] bool hasMask() const { return !outline.isEmpty() || !mask.isNull(); }
};

// The shapes of every annotation of `imageId`, in annotation order.
std::vector<OverlayShape> buildOverlay(const studio::Dataset& dataset, std::int64_t imageId);

// A polygon list (COCO "segmentation") as one path; several polygons are united.
QPainterPath polygonsToPath(const std::vector<std::vector<double>>& polygons);

// An RLE mask as an image of `color` where the mask is set and transparent elsewhere.
QImage rleToImage(const studio::Rle& rle, const QColor& color);

}  // namespace studio::ui
