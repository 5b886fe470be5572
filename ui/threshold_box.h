#pragma once
// A spin box for a score or IoU threshold: two decimals, steps of 0.05, and valueChanged only
// once a value is entered (not on every digit typed), since each change recomputes matches.
#include <QDoubleSpinBox>
#include <QString>

namespace studio::ui {

inline QDoubleSpinBox* makeThresholdBox(double min, double max, double value, const QString& toolTip) {
  auto* box = new QDoubleSpinBox;
  box->setRange(min, max);
  box->setSingleStep(0.05);
  box->setDecimals(2);
  box->setValue(value);
  box->setKeyboardTracking(false);
  box->setToolTip(toolTip);
  return box;
}

}  // namespace studio::ui
