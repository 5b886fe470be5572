#include "findings_filter.h"

#include "findings_model.h"

namespace studio::ui {

FindingsFilter::FindingsFilter(QObject* parent) : QSortFilterProxyModel(parent) {
  setSortRole(FindingsModel::SortRole);
  setSortCaseSensitivity(Qt::CaseInsensitive);
}

void FindingsFilter::setSeverity(std::optional<int> severity) {
  if (severity == severity_) return;
  severity_ = severity;
  invalidateFilter();
}

void FindingsFilter::setCode(const QString& code) {
  if (code == code_) return;
  code_ = code;
  invalidateFilter();
}

bool FindingsFilter::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const {
  const QModelIndex index = sourceModel()->index(sourceRow, 0, sourceParent);
  if (severity_ && index.data(FindingsModel::SeverityRole).toInt() != *severity_) return false;
  if (!code_.isEmpty() && index.data(FindingsModel::CodeRole).toString() != code_) return false;
  return true;
}

}  // namespace studio::ui
