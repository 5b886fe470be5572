#include "class_colors.h"

#include <QPainter>
#include <QPixmap>

namespace studio::ui {

QColor classColor(int categoryIndex) {
  if (categoryIndex < 0) return QColor(150, 150, 150);
  // Stepping the hue by the golden angle keeps neighbouring class indices far apart on the
  // colour wheel for any number of classes; alternating the value separates the hues that
  // come round again after about a dozen classes.
  const int hue = static_cast<int>(categoryIndex * 137.508) % 360;
  const int saturation = 210;
  const int value = (categoryIndex / 12) % 2 == 0 ? 245 : 190;
  return QColor::fromHsv(hue, saturation, value);
}

QIcon classSwatch(int categoryIndex) {
  QPixmap pixmap(12, 12);
  pixmap.fill(Qt::transparent);
  QPainter painter(&pixmap);
  painter.setPen(QColor(0, 0, 0, 120));
  painter.setBrush(classColor(categoryIndex));
  painter.drawRect(0, 0, 11, 11);
  return QIcon(pixmap);
}

QColor textColorOn(const QColor& background) {
  // Relative luminance with the sRGB weights, as a cheap contrast test.
  const double luma = 0.2126 * background.redF() + 0.7152 * background.greenF() + 0.0722 * background.blueF();
  return luma > 0.55 ? Qt::black : Qt::white;
}

}  // namespace studio::ui
