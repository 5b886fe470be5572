#include "results_page.h"

#include <QApplication>
#include <QClipboard>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
#include <algorithm>
#include <QStyle>
#include <QTableView>
#include <QVBoxLayout>
#include <exception>

#include "common/atomic_file.h"
#include "common/error.h"
#include "error_banner.h"
#include "results_model.h"

namespace studio::ui {

ResultsPage::ResultsPage(QWidget* parent) : QWidget(parent), model_(new ResultsModel(this)) {
  auto* addButton = new QPushButton(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("Add…"));
  addButton->setToolTip(
      tr("Add a metrics JSON (studio-cli eval --json, a run's eval/metrics_<k>.json) or a run "
         "folder"));
  auto* addMenu = new QMenu(addButton);
  addMenu->addAction(tr("Metrics file…"), this, &ResultsPage::browseFile);
  addMenu->addAction(tr("Run folder…"), this, &ResultsPage::browseFolder);
  addButton->setMenu(addMenu);
  removeButton_ = new QPushButton(tr("Remove selected"));
  exportButton_ = new QPushButton(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("Export…"));
  exportButton_->setToolTip(tr("Save the table as CSV, Markdown or LaTeX"));
  copyButton_ = new QPushButton(tr("Copy as Markdown"));

  auto* bar = new QHBoxLayout;
  bar->addWidget(addButton);
  bar->addWidget(removeButton_);
  bar->addStretch(1);
  bar->addWidget(exportButton_);
  bar->addWidget(copyButton_);

  banner_ = makeErrorBanner();

  table_ = new QTableView;
  table_->setModel(model_);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->setAlternatingRowColors(true);
  table_->horizontalHeader()->setStretchLastSection(false);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->verticalHeader()->setVisible(false);
  // Dataset tokens are long paths: that column is capped and elided in the middle (its tooltip
  // has it whole), so the APs stay in view.
  table_->setTextElideMode(Qt::ElideMiddle);
  table_->setWordWrap(false);
  connect(model_, &QAbstractItemModel::modelReset, this, &ResultsPage::fitColumns);
  fitColumns();

  empty_ =
      new QLabel(tr("No runs yet. Add a metrics file or a run folder, or use “Add to Results” on the "
                    "Evaluate page. Box and mask AP are COCO AP in percent, as model zoos list them."));
  empty_->setWordWrap(true);
  empty_->setStyleSheet(QStringLiteral("QLabel { color: palette(mid); }"));

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 8);
  layout->addLayout(bar);
  layout->addWidget(banner_);
  layout->addWidget(empty_);
  layout->addWidget(table_, 1);

  connect(removeButton_, &QPushButton::clicked, this, &ResultsPage::removeSelected);
  connect(exportButton_, &QPushButton::clicked, this, &ResultsPage::exportWithDialog);
  connect(copyButton_, &QPushButton::clicked, this, &ResultsPage::copyMarkdown);
  connect(model_, &QAbstractItemModel::modelReset, this, &ResultsPage::updateButtons);  // runs added or removed
  connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          &ResultsPage::updateButtons);
  updateButtons();
}

QString ResultsPage::errorText() const { return banner_->isHidden() ? QString() : banner_->text(); }

void ResultsPage::showBanner(const QString& message) {
  banner_->setText(message);
  banner_->setVisible(true);
}

void ResultsPage::fitColumns() {
  constexpr int kDatasetWidth = 220;
  const int dataset = model_->columnOf(QStringLiteral("dataset"));
  if (dataset < 0) return;
  QHeaderView* header = table_->horizontalHeader();
  header->setSectionResizeMode(dataset, QHeaderView::Interactive);
  table_->resizeColumnToContents(dataset);
  table_->setColumnWidth(dataset, std::min(table_->columnWidth(dataset), kDatasetWidth));
}

void ResultsPage::updateButtons() {
  const bool any = model_->rowCount() > 0;
  removeButton_->setEnabled(table_->selectionModel()->hasSelection());
  exportButton_->setEnabled(any);
  copyButton_->setEnabled(any);
  empty_->setVisible(!any);
}

bool ResultsPage::addPath(const QString& path) {
  try {
    studio::MetricsFile metrics = studio::read_metrics(path.toStdString());
    if (metrics.source.empty()) metrics.source = path.toStdString();
    banner_->setVisible(false);
    model_->addRun(std::move(metrics));
    return true;
  } catch (const std::exception& e) {
    showBanner(tr("Could not add %1: %2").arg(path, QString::fromStdString(e.what())));
    return false;
  }
}

void ResultsPage::addMetrics(const studio::MetricsFile& metrics) {
  banner_->setVisible(false);
  model_->addRun(metrics);
}

void ResultsPage::removeSelected() {
  QList<int> rows;
  for (const QModelIndex& index : table_->selectionModel()->selectedRows()) rows << index.row();
  model_->removeRows(rows);
}

QString ResultsPage::markdown() const {
  return QString::fromStdString(studio::export_table(model_->runs(), studio::TableFormat::Markdown));
}

void ResultsPage::copyMarkdown() { QApplication::clipboard()->setText(markdown()); }

bool ResultsPage::exportTo(const QString& path, studio::TableFormat format) {
  try {
    studio::write_file_atomic(path.toStdString(), studio::export_table(model_->runs(), format));
    banner_->setVisible(false);
    return true;
  } catch (const std::exception& e) {
    showBanner(tr("Could not export: %1").arg(QString::fromStdString(e.what())));
    return false;
  }
}

void ResultsPage::browseFile() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Add metrics file"), {},
                                                    tr("Metrics JSON (*.json);;All files (*)"));
  if (!path.isEmpty()) addPath(path);
}

void ResultsPage::browseFolder() {
  const QString path = QFileDialog::getExistingDirectory(this, tr("Add run folder"));
  if (!path.isEmpty()) addPath(path);
}

void ResultsPage::exportWithDialog() {
  const QString csv = tr("CSV (*.csv)"), md = tr("Markdown (*.md)"), tex = tr("LaTeX (*.tex)");
  QString filter = csv;
  QString path = QFileDialog::getSaveFileName(this, tr("Export results"), QStringLiteral("results.csv"),
                                              QStringList{csv, md, tex}.join(QStringLiteral(";;")), &filter);
  if (path.isEmpty()) return;
  // The suffix the user typed wins over the filter; a bare name takes the filter's.
  const QString suffix = QFileInfo(path).suffix().toLower();
  studio::TableFormat format = studio::TableFormat::Csv;
  if (suffix == QLatin1String("md") || (suffix.isEmpty() && filter == md))
    format = studio::TableFormat::Markdown;
  else if (suffix == QLatin1String("tex") || (suffix.isEmpty() && filter == tex))
    format = studio::TableFormat::Latex;
  if (suffix.isEmpty())
    path += format == studio::TableFormat::Markdown ? QStringLiteral(".md")
            : format == studio::TableFormat::Latex  ? QStringLiteral(".tex")
                                                    : QStringLiteral(".csv");
  exportTo(path, format);
}

}  // namespace studio::ui
