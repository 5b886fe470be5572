#include "annotation_overlay.h"

#include <QPolygonF>

#include "class_colors.h"

namespace studio::ui {

QPainterPath polygonsToPath(const std::vector<std::vector<double>>& polygons) {
  QPainterPath path;
  // Winding fill: where two polygons of one object overlap the area stays filled (the union),
  // as COCO's rasteriser merges them.
  path.setFillRule(Qt::WindingFill);
  for (const auto& xy : polygons) {
    if (xy.size() < 6) continue;  // fewer than three points encloses nothing
    QPolygonF polygon;
    polygon.reserve(static_cast<int>(xy.size() / 2));
    for (std::size_t i = 0; i + 1 < xy.size(); i += 2) polygon << QPointF(xy[i], xy[i + 1]);
    path.addPolygon(polygon);
    path.closeSubpath();
  }
  return path;
}

QImage rleToImage(const studio::Rle& rle, const QColor& color) {
  if (rle.w == 0 || rle.h == 0) return {};
  const std::vector<std::uint8_t> bits = studio::rle_decode(rle);
  QImage image(static_cast<int>(rle.w), static_cast<int>(rle.h), QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::transparent);
  const QRgb on = color.rgba();
  for (int y = 0; y < image.height(); ++y) {
    auto* row = reinterpret_cast<QRgb*>(image.scanLine(y));
    const std::uint8_t* src = bits.data() + static_cast<std::size_t>(y) * rle.w;
    for (int x = 0; x < image.width(); ++x)
      if (src[x]) row[x] = on;
  }
  return image;
}

std::vector<OverlayShape> buildOverlay(const studio::Dataset& dataset, std::int64_t imageId) {
  std::vector<OverlayShape> shapes;
  const auto& indices = dataset.annotations_of(imageId);
  shapes.reserve(indices.size());
  for (std::size_t index : indices) {
    const studio::Annotation& ann = dataset.annotations[index];
    OverlayShape shape;
    shape.annotationId = ann.id;
    shape.box = QRectF(ann.bbox[0], ann.bbox[1], ann.bbox[2], ann.bbox[3]);
    const int classIndex = dataset.category_index(ann.category_id);
    shape.color = classColor(classIndex);
    const studio::Category* category = dataset.category_by_id(ann.category_id);
    shape.label = category ? QString::fromStdString(category->name)
                           : QObject::tr("unknown class %1").arg(ann.category_id);
    if (ann.iscrowd) shape.label += QObject::tr(" (crowd)");
    if (ann.difficult) shape.label += QObject::tr(" (difficult)");
    if (!ann.polygons.empty())
      shape.outline = polygonsToPath(ann.polygons);
    else if (ann.rle)
      shape.mask = rleToImage(*ann.rle, shape.color);
    shapes.push_back(std::move(shape));
  }
  return shapes;
}

}  // namespace studio::ui
