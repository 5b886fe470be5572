#include "findings_model.h"

#include <QApplication>
#include <QFileInfo>
#include <QStyle>

#include "dataset_document.h"

namespace studio::ui {

FindingsModel::FindingsModel(DatasetDocument* document, QObject* parent)
    : QAbstractTableModel(parent), document_(document) {
  // Both reset the table: a new dataset drops the old report.
  connect(document_, &DatasetDocument::checkReportChanged, this, [this] {
    beginResetModel();
    endResetModel();
  });
}

int FindingsModel::rowCount(const QModelIndex& parent) const {
  const studio::CheckReport* report = document_->checkReport();
  return parent.isValid() || !report ? 0 : static_cast<int>(report->findings.size());
}

int FindingsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant FindingsModel::data(const QModelIndex& index, int role) const {
  const studio::CheckReport* report = document_->checkReport();
  if (!report || !index.isValid() || index.row() >= rowCount()) return {};
  const studio::Finding& f = report->findings[static_cast<std::size_t>(index.row())];
  const bool error = f.severity == studio::Severity::Error;

  switch (role) {
    case ImageIdRole:
      return f.image_id ? QVariant::fromValue<qint64>(*f.image_id) : QVariant();
    case AnnotationIdRole:
      return f.annotation_id ? QVariant::fromValue<qint64>(*f.annotation_id) : QVariant();
    case SeverityRole:
      return static_cast<int>(f.severity);
    case CodeRole:
      return QString::fromStdString(f.code);
    default:
      break;
  }

  // The image column names the file; the image id is what the finding is really about.
  auto imageText = [&]() -> QString {
    if (!f.image_id) return QString::fromStdString(f.file);
    const studio::ImageInfo* image =
        document_->hasDataset() ? document_->dataset().image_by_id(*f.image_id) : nullptr;
    const QString name = image ? QFileInfo(QString::fromStdString(image->file_name)).fileName()
                               : QFileInfo(QString::fromStdString(f.file)).fileName();
    return name.isEmpty() ? tr("#%1").arg(*f.image_id) : tr("%1 (#%2)").arg(name).arg(*f.image_id);
  };

  switch (index.column()) {
    case SeverityColumn:
      if (role == Qt::DisplayRole) return QString::fromLatin1(studio::severity_name(f.severity));
      if (role == SortRole) return static_cast<int>(f.severity);
      if (role == Qt::DecorationRole)
        return QApplication::style()->standardIcon(error ? QStyle::SP_MessageBoxCritical
                                                         : QStyle::SP_MessageBoxWarning);
      break;
    case CodeColumn:
      if (role == Qt::DisplayRole || role == SortRole) return QString::fromStdString(f.code);
      break;
    case ImageColumn:
      if (role == Qt::DisplayRole) return imageText();
      if (role == SortRole)
        return f.image_id ? QVariant::fromValue<qint64>(*f.image_id) : QVariant::fromValue<qint64>(-1);
      if (role == Qt::ToolTipRole) return QString::fromStdString(f.file);
      break;
    case AnnotationColumn:
      if (role == Qt::DisplayRole) return f.annotation_id ? QString::number(*f.annotation_id) : QString();
      if (role == SortRole)
        return f.annotation_id ? QVariant::fromValue<qint64>(*f.annotation_id)
                               : QVariant::fromValue<qint64>(-1);
      break;
    case MessageColumn:
      if (role == Qt::DisplayRole || role == Qt::ToolTipRole || role == SortRole)
        return QString::fromStdString(f.message);
      break;
    default:
      break;
  }
  return {};
}

QVariant FindingsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
    return QAbstractTableModel::headerData(section, orientation, role);
  switch (section) {
    case SeverityColumn:
      return tr("Severity");
    case CodeColumn:
      return tr("Code");
    case ImageColumn:
      return tr("Image");
    case AnnotationColumn:
      return tr("Annotation");
    case MessageColumn:
      return tr("Message");
    default:
      return {};
  }
}

}  // namespace studio::ui
