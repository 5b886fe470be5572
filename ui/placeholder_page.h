#pragma once
// A stage of the studio that is not built yet: says so plainly and what it will do.
#include <QWidget>

namespace studio::ui {

class PlaceholderPage : public QWidget {
  Q_OBJECT

 public:
  // `plans` is a short list of what the page will offer, one item a line.
  PlaceholderPage(const QString& title, const QString& summary, const QStringList& plans,
                  QWidget* parent = nullptr);
};

}  // namespace studio::ui
