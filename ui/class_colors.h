#pragma once
// One colour per class, shared by the image canvas, the histogram and the class filter so a
// class looks the same everywhere on the page.
#include <QColor>
#include <QIcon>

namespace studio::ui {

// Colour of the class at `categoryIndex` (its position in Dataset::categories); -1 (an
// annotation whose category is unknown) is grey.
QColor classColor(int categoryIndex);

// A small filled square in the class colour, for combo boxes and lists.
QIcon classSwatch(int categoryIndex);

// Black or white, whichever reads better on `background`.
QColor textColorOn(const QColor& background);

}  // namespace studio::ui
