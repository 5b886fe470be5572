#include "findings_model.h"

#include <QApplication>
#include <QFileInfo>
#include <QStyle>
#include <algorithm>
#include <utility>

#include "dataset_document.h"

namespace studio::ui {

namespace {

// "FILE:LINE" split at its last colon when digits follow it (a path may hold colons itself);
// line 0 when the source names a file only.
std::pair<QString, long> splitSource(const QString& source) {
  const int colon = source.lastIndexOf(QLatin1Char(':'));
  if (colon > 0) {
    bool ok = false;
    const long line = source.mid(colon + 1).toLong(&ok);
    if (ok && line > 0) return {source.left(colon), line};
  }
  return {source, 0};
}

}  // namespace

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
    case SourceRole:
      return QString::fromStdString(f.source);
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
    case SourceColumn: {
      if (f.source.empty()) return role == SortRole ? QVariant(QString()) : QVariant();
      const QString source = QString::fromStdString(f.source);
      if (role == Qt::DisplayRole) return sourceText(source);
      if (role == Qt::ToolTipRole) return source;
      // By file, then by line as a number (a list's line 10 after its line 9).
      if (role == SortRole) {
        const auto [file, line] = splitSource(source);
        return QStringLiteral("%1:%2").arg(file).arg(line, 10, 10, QLatin1Char('0'));
      }
      break;
    }
    case MessageColumn:
      if (role == Qt::DisplayRole || role == SortRole) return QString::fromStdString(f.message);
      // The tooltip carries the whole place too, for when the source column is narrow.
      if (role == Qt::ToolTipRole)
        return f.source.empty()
                   ? QString::fromStdString(f.message)
                   : tr("%1\nat %2").arg(QString::fromStdString(f.message), QString::fromStdString(f.source));
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
    case SourceColumn:
      return tr("Where");
    case MessageColumn:
      return tr("Message");
    default:
      return {};
  }
}

bool FindingsModel::hasSources() const {
  const studio::CheckReport* report = document_->checkReport();
  if (!report) return false;
  return std::any_of(report->findings.begin(), report->findings.end(),
                     [](const studio::Finding& f) { return !f.source.empty(); });
}

QString FindingsModel::sourceText(const QString& source) {
  const auto [file, line] = splitSource(source);
  const QString name = QFileInfo(file).fileName();
  return line > 0 ? QStringLiteral("%1:%2").arg(name).arg(line) : name;
}

}  // namespace studio::ui
