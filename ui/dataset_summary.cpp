#include "dataset_summary.h"

#include <QFormLayout>
#include <QLabel>
#include <QLocale>
#include <QVBoxLayout>

#include "dataset_document.h"

namespace studio::ui {

namespace {

QString formatName(studio::DatasetFormat format) {
  switch (format) {
    case studio::DatasetFormat::Coco:
      return QStringLiteral("COCO");
    case studio::DatasetFormat::Voc:
      return QStringLiteral("Pascal VOC");
    case studio::DatasetFormat::Txt:
      return QStringLiteral("TXT list");
    case studio::DatasetFormat::Synthetic:
      return QStringLiteral("generated shapes (COCO)");
  }
  return {};
}

}  // namespace

DatasetSummary::DatasetSummary(DatasetDocument* document, QWidget* parent)
    : QWidget(parent), document_(document), form_(new QFormLayout) {
  sourceLabel_ = new QLabel;
  sourceLabel_->setWordWrap(true);
  sourceLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  form_->setLabelAlignment(Qt::AlignLeft);
  form_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  form_->setContentsMargins(0, 0, 0, 0);
  form_->setVerticalSpacing(3);

  addRow(QStringLiteral("format"), tr("Format"));
  addRow(QStringLiteral("images"), tr("Images"));
  addRow(QStringLiteral("annotations"), tr("Annotations"));
  addRow(QStringLiteral("classes"), tr("Classes"));
  addRow(QStringLiteral("crowd"), tr("Crowd"), tr("Annotations marked iscrowd (regions of many objects)"));
  addRow(QStringLiteral("difficult"), tr("Difficult"), tr("VOC annotations marked difficult"));
  addRow(QStringLiteral("empty"), tr("Without annotations"), tr("Images that have no annotation"));
  addRow(QStringLiteral("sizes"), tr("Small / medium / large"),
         tr("Annotations by COCO area range: below 32², 32² to 96², above 96² pixels"));

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(sourceLabel_);
  layout->addLayout(form_);

  connect(document_, &DatasetDocument::datasetChanged, this, &DatasetSummary::refresh);
  refresh();
}

void DatasetSummary::addRow(const QString& key, const QString& title, const QString& toolTip) {
  auto* value = new QLabel;
  values_.insert(key, value);
  value->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* caption = new QLabel(title + QLatin1Char(':'));
  caption->setToolTip(toolTip);
  value->setToolTip(toolTip);
  form_->addRow(caption, value);
}

QString DatasetSummary::value(const QString& key) const {
  const QLabel* label = values_.value(key);
  return label ? label->text() : QString();
}

void DatasetSummary::refresh() {
  const bool has = document_->hasDataset();
  sourceLabel_->setText(has ? tr("<b>%1</b>").arg(document_->description().toHtmlEscaped())
                            : tr("No dataset open"));
  const QLocale locale;
  auto number = [&](std::size_t n) { return locale.toString(static_cast<qulonglong>(n)); };
  auto set = [&](const QString& key, const QString& text) {
    values_.value(key)->setText(has ? text : QStringLiteral("–"));
  };
  if (!has) {
    for (auto it = values_.begin(); it != values_.end(); ++it) set(it.key(), {});
    return;
  }
  const studio::DatasetStats& s = document_->stats();
  set(QStringLiteral("format"), formatName(document_->dataset().format));
  set(QStringLiteral("images"), number(s.images));
  set(QStringLiteral("annotations"), number(s.annotations));
  set(QStringLiteral("classes"), number(s.classes.size()));
  set(QStringLiteral("crowd"), number(s.crowd));
  set(QStringLiteral("difficult"), number(s.difficult));
  set(QStringLiteral("empty"), number(s.images_without_annotations));
  set(QStringLiteral("sizes"),
      QStringLiteral("%1 / %2 / %3")
          .arg(number(s.coco_sizes[0]), number(s.coco_sizes[1]), number(s.coco_sizes[2])));
}

}  // namespace studio::ui
