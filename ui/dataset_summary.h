#pragma once
// The numbers of the open dataset at a glance: images, annotations, classes, crowd, ...
#include <QHash>
#include <QWidget>

class QFormLayout;
class QLabel;

namespace studio::ui {

class DatasetDocument;

class DatasetSummary : public QWidget {
  Q_OBJECT

 public:
  explicit DatasetSummary(DatasetDocument* document, QWidget* parent = nullptr);

  // The value shown for a row ("images", "annotations", "classes", "crowd", ...), for tests.
  [[nodiscard]] QString value(const QString& key) const;

 private:
  void refresh();
  void addRow(const QString& key, const QString& title, const QString& toolTip = {});

  DatasetDocument* document_;
  QFormLayout* form_;
  QLabel* sourceLabel_;
  QHash<QString, QLabel*> values_;
};

}  // namespace studio::ui
