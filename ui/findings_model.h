#pragma once
// The checker's findings as a table: severity, code, image, annotation, where the record is
// written (TXT list or VOC XML file and line; empty for COCO) and message.
#include <QAbstractTableModel>

namespace studio::ui {

class DatasetDocument;

class FindingsModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    SeverityColumn,
    CodeColumn,
    ImageColumn,
    AnnotationColumn,
    SourceColumn,
    MessageColumn,
    ColumnCount
  };
  enum Role {
    // A value that sorts right (numbers as numbers, errors before warnings).
    SortRole = Qt::UserRole + 1,
    ImageIdRole,       // qint64, or invalid when the finding names no image
    AnnotationIdRole,  // qint64, or invalid
    SeverityRole,      // int(studio::Severity)
    CodeRole,          // the stable code, e.g. "bbox_out_of_bounds"
    SourceRole,        // Finding::source as the checker wrote it ("/data/list.txt:4"; empty for COCO)
  };

  explicit FindingsModel(DatasetDocument* document, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  // Whether any finding of the report names its source (a TXT or VOC dataset): the view hides
  // the column otherwise.
  [[nodiscard]] bool hasSources() const;
  // What the source column shows for `source`: the file's name and the line ("list.txt:4",
  // "000005.xml:21"), the full path being in the tooltip.
  [[nodiscard]] static QString sourceText(const QString& source);

 private:
  DatasetDocument* document_;
};

}  // namespace studio::ui
