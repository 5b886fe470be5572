#include "findings_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableView>
#include <QVBoxLayout>
#include <map>

#include "dataset_document.h"
#include "findings_filter.h"
#include "findings_model.h"

namespace studio::ui {

FindingsView::FindingsView(DatasetDocument* document, QWidget* parent)
    : QWidget(parent),
      document_(document),
      model_(new FindingsModel(document, this)),
      filter_(new FindingsFilter(this)) {
  filter_->setSourceModel(model_);

  summary_ = new QLabel;
  summary_->setWordWrap(true);
  severityCombo_ = new QComboBox;
  severityCombo_->addItem(tr("All severities"));
  severityCombo_->addItem(tr("Errors"), static_cast<int>(studio::Severity::Error));
  severityCombo_->addItem(tr("Warnings"), static_cast<int>(studio::Severity::Warning));
  codeCombo_ = new QComboBox;
  codeCombo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);

  auto* bar = new QHBoxLayout;
  bar->setContentsMargins(0, 0, 0, 0);
  bar->addWidget(summary_, 1);
  bar->addWidget(severityCombo_);
  bar->addWidget(codeCombo_);

  table_ = new QTableView;
  table_->setModel(filter_);
  table_->setSortingEnabled(true);
  table_->sortByColumn(FindingsModel::SeverityColumn, Qt::AscendingOrder);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setAlternatingRowColors(true);
  table_->setWordWrap(false);
  table_->verticalHeader()->setVisible(false);
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
  auto* header = table_->horizontalHeader();
  header->setStretchLastSection(true);
  header->resizeSection(FindingsModel::SeverityColumn, 85);
  header->resizeSection(FindingsModel::CodeColumn, 165);
  header->resizeSection(FindingsModel::ImageColumn, 130);
  header->resizeSection(FindingsModel::AnnotationColumn, 85);
  header->resizeSection(FindingsModel::SourceColumn, 120);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(bar);
  layout->addWidget(table_, 1);

  connect(severityCombo_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
    const QVariant v = severityCombo_->itemData(i);
    filter_->setSeverity(v.isValid() ? std::optional<int>(v.toInt()) : std::nullopt);
  });
  connect(codeCombo_, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this](int i) { filter_->setCode(codeCombo_->itemData(i).toString()); });
  // Keyboard moves and clicks both open the finding; a click on the selected row opens it
  // again after the user browsed elsewhere.
  connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& current) { activate(current); });
  connect(table_, &QTableView::clicked, this, &FindingsView::activate);
  connect(document_, &DatasetDocument::checkReportChanged, this, &FindingsView::onReportChanged);
  connect(document_, &DatasetDocument::datasetChanged, this, &FindingsView::onReportChanged);
  onReportChanged();
}

QString FindingsView::summaryText() const { return summary_->text(); }

void FindingsView::onReportChanged() {
  const studio::CheckReport* report = document_->checkReport();
  // One entry per code present, with its count, so the list only offers what can be found.
  const QString previousCode = codeCombo_->currentData().toString();
  {
    const QSignalBlocker blocker(codeCombo_);
    codeCombo_->clear();
    codeCombo_->addItem(tr("All codes"), QString());
    if (report) {
      std::map<std::string, int> counts;
      for (const auto& f : report->findings) ++counts[f.code];
      for (const auto& [code, count] : counts)
        codeCombo_->addItem(tr("%1 (%2)").arg(QString::fromStdString(code)).arg(count),
                            QString::fromStdString(code));
    }
    const int keep = codeCombo_->findData(previousCode);
    codeCombo_->setCurrentIndex(keep < 0 ? 0 : keep);
  }
  filter_->setCode(codeCombo_->currentData().toString());

  if (!document_->hasDataset()) {
    summary_->setText(tr("No dataset open."));
  } else if (!report) {
    summary_->setText(
        tr("Not checked yet. <b>Check annotations</b> looks for missing files, boxes outside "
           "the image, masks that disagree with their boxes, duplicates and more."));
  } else if (report->findings.empty()) {
    summary_->setText(tr("No problems found in %1 images.").arg(report->images_checked));
  } else {
    auto count = [](std::size_t n, const QString& one, const QString& many) {
      return n == 1 ? one : many.arg(n);
    };
    summary_->setText(tr("<b>%1</b>, %2 in %3 images checked. Select a finding to see it on its image.")
                          .arg(count(report->errors, tr("1 error"), tr("%1 errors")),
                               count(report->warnings, tr("1 warning"), tr("%1 warnings")))
                          .arg(report->images_checked));
  }
  const bool any = report && !report->findings.empty();
  // Only TXT and VOC readers record where each record is written; a COCO report would show an
  // empty column.
  table_->setColumnHidden(FindingsModel::SourceColumn, !model_->hasSources());
  severityCombo_->setEnabled(any);
  codeCombo_->setEnabled(any);
}

void FindingsView::activate(const QModelIndex& proxyIndex) {
  if (!proxyIndex.isValid()) return;
  const QModelIndex index = proxyIndex.siblingAtColumn(0);
  const QVariant image = index.data(FindingsModel::ImageIdRole);
  // Findings about the whole dataset (class imbalance) or an annotation whose image does not
  // exist have nothing to show.
  if (!image.isValid()) return;
  const QVariant annotation = index.data(FindingsModel::AnnotationIdRole);
  emit findingActivated(image.value<qint64>(), annotation.isValid()
                                                   ? std::optional<qint64>(annotation.value<qint64>())
                                                   : std::nullopt);
}

}  // namespace studio::ui
