#pragma once
// Sorting and filtering of the findings table by severity and by code.
#include <QSortFilterProxyModel>
#include <optional>

namespace studio::ui {

class FindingsFilter : public QSortFilterProxyModel {
  Q_OBJECT

 public:
  explicit FindingsFilter(QObject* parent = nullptr);

  // nullopt: every severity; otherwise int(studio::Severity).
  void setSeverity(std::optional<int> severity);
  // Empty: every code.
  void setCode(const QString& code);

 protected:
  bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

 private:
  std::optional<int> severity_;
  QString code_;
};

}  // namespace studio::ui
