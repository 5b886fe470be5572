#include "confusion_matrix_view.h"

#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "threshold_box.h"

namespace studio::ui {

ConfusionMatrixView::ConfusionMatrixView(QWidget* parent) : QWidget(parent) {
  note_ = new QLabel;
  note_->setWordWrap(true);
  score_ = makeThresholdBox(0.0, 1.0, 0.3, tr("Detections scoring below this are left out"));
  iou_ = makeThresholdBox(0.05, 0.95, 0.5, tr("Overlap a detection needs with a ground-truth object to count for it"));
  for (QDoubleSpinBox* box : {score_, iou_}) {
    connect(box, &QDoubleSpinBox::valueChanged, this, [this] {
      updateNote();
      emit thresholdsChanged(scoreThreshold(), iouThreshold());
    });
  }
  auto* controls = new QHBoxLayout;
  controls->setContentsMargins(0, 0, 0, 0);
  controls->addWidget(new QLabel(tr("Score ≥")));
  controls->addWidget(score_);
  controls->addSpacing(12);
  controls->addWidget(new QLabel(tr("IoU ≥")));
  controls->addWidget(iou_);
  controls->addStretch(1);
  updateNote();
  table_ = new QTableWidget;
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionMode(QAbstractItemView::NoSelection);
  table_->horizontalHeader()->setDefaultSectionSize(72);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  table_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(controls);
  layout->addWidget(note_);
  layout->addWidget(table_, 1);
}

double ConfusionMatrixView::scoreThreshold() const { return score_->value(); }
double ConfusionMatrixView::iouThreshold() const { return iou_->value(); }

void ConfusionMatrixView::setThresholds(double score, double iou) {
  const QSignalBlocker a(score_), b(iou_);
  const bool changed = score != score_->value() || iou != iou_->value();
  score_->setValue(score);
  iou_->setValue(iou);
  updateNote();
  if (changed) emit thresholdsChanged(scoreThreshold(), iouThreshold());
}

void ConfusionMatrixView::setBusy(bool busy) {
  table_->setEnabled(!busy);
  updateNote();
  if (busy) note_->setText(note_->text() + tr(" Recomputing…"));
}

void ConfusionMatrixView::updateNote() {
  note_->setText(tr("Rows: ground truth. Columns: prediction (score ≥ %1, IoU ≥ %2). The background row counts "
                    "false positives, the background column missed objects.")
                     .arg(score_->value(), 0, 'f', 2)
                     .arg(iou_->value(), 0, 'f', 2));
}

void ConfusionMatrixView::clear() {
  table_->clear();
  table_->setRowCount(0);
  table_->setColumnCount(0);
}

void ConfusionMatrixView::setMatrix(const studio::ConfusionMatrix& matrix) {
  clear();
  const int k = static_cast<int>(matrix.names.size());
  if (matrix.counts.size() != std::size_t(k + 1) * std::size_t(k + 1)) return;
  QStringList labels;
  for (const auto& name : matrix.names) labels << QString::fromStdString(name);
  labels << tr("background");
  table_->setRowCount(k + 1);
  table_->setColumnCount(k + 1);
  table_->setHorizontalHeaderLabels(labels);
  table_->setVerticalHeaderLabels(labels);
  const QColor diagonal(46, 125, 50), offDiagonal(198, 40, 40);
  for (int row = 0; row <= k; ++row) {
    std::size_t rowTotal = 0;
    for (int col = 0; col <= k; ++col) rowTotal += matrix.at(std::size_t(row), std::size_t(col));
    for (int col = 0; col <= k; ++col) {
      const std::size_t n = matrix.at(std::size_t(row), std::size_t(col));
      auto* item = new QTableWidgetItem(QString::number(n));
      item->setTextAlignment(Qt::AlignCenter);
      if (n > 0 && rowTotal > 0) {
        // Green where prediction and truth agree, red where they don't; the share of the row
        // sets the strength, light enough that the number stays readable.
        QColor shade = row == col && row < k ? diagonal : offDiagonal;
        shade.setAlphaF(0.12 + 0.5 * double(n) / double(rowTotal));
        item->setBackground(shade);
      }
      item->setToolTip(tr("%1 ground truth %2 → predicted %3").arg(n).arg(labels[row], labels[col]));
      table_->setItem(row, col, item);
    }
  }
  // The empty corner cell (background, background) is meaningless: grey it out.
  if (QTableWidgetItem* corner = table_->item(k, k)) {
    corner->setText(QStringLiteral("–"));
    corner->setForeground(palette().color(QPalette::Disabled, QPalette::Text));
    corner->setToolTip(tr("Not counted"));
  }
}

int ConfusionMatrixView::count(int row, int column) const {
  const QTableWidgetItem* item = table_->item(row, column);
  bool ok = false;
  const int n = item ? item->text().toInt(&ok) : 0;
  return ok ? n : 0;
}

}  // namespace studio::ui
