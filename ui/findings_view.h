#pragma once
// The checker's findings: a sortable table with severity and code filters. Selecting a finding
// that names an image asks for that image (and annotation) to be shown.
#include <QWidget>
#include <optional>

class QComboBox;
class QLabel;
class QTableView;

namespace studio::ui {

class DatasetDocument;
class FindingsFilter;
class FindingsModel;

class FindingsView : public QWidget {
  Q_OBJECT

 public:
  explicit FindingsView(DatasetDocument* document, QWidget* parent = nullptr);

  [[nodiscard]] QTableView* table() const { return table_; }
  [[nodiscard]] FindingsModel* findingsModel() const { return model_; }
  [[nodiscard]] FindingsFilter* filter() const { return filter_; }
  [[nodiscard]] QComboBox* severityFilter() const { return severityCombo_; }
  [[nodiscard]] QComboBox* codeFilter() const { return codeCombo_; }
  [[nodiscard]] QString summaryText() const;

 signals:
  void findingActivated(qint64 imageId, std::optional<qint64> annotationId);

 private:
  void onReportChanged();
  void activate(const QModelIndex& proxyIndex);

  DatasetDocument* document_;
  FindingsModel* model_;
  FindingsFilter* filter_;
  QLabel* summary_;
  QComboBox* severityCombo_;
  QComboBox* codeCombo_;
  QTableView* table_;
};

}  // namespace studio::ui
