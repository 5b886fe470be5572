#include "error_banner.h"

#include <QLabel>

namespace studio::ui {

QLabel* makeErrorBanner() {
  auto* banner = new QLabel;
  banner->setWordWrap(true);
  banner->setTextInteractionFlags(Qt::TextSelectableByMouse);
  banner->setStyleSheet(
      QStringLiteral("QLabel { background: #fde7e9; color: #8a0014; border: 1px solid #e8a0a8; "
                     "border-radius: 3px; padding: 6px; }"));
  banner->setVisible(false);
  return banner;
}

}  // namespace studio::ui
