#pragma once
// The checker's findings as a table: severity, code, image, annotation, message.
#include <QAbstractTableModel>

namespace studio::ui {

class DatasetDocument;

class FindingsModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { SeverityColumn, CodeColumn, ImageColumn, AnnotationColumn, MessageColumn, ColumnCount };
  enum Role {
    // A value that sorts right (numbers as numbers, errors before warnings).
    SortRole = Qt::UserRole + 1,
    ImageIdRole,       // qint64, or invalid when the finding names no image
    AnnotationIdRole,  // qint64, or invalid
    SeverityRole,      // int(studio::Severity)
    CodeRole,          // the stable code, e.g. "bbox_out_of_bounds"
  };

  explicit FindingsModel(DatasetDocument* document, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  DatasetDocument* document_;
};

}  // namespace studio::ui
