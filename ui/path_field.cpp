#include "path_field.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>

namespace studio::ui {

PathField::PathField(Kind kind, const QString& caption, const QString& filter, QWidget* parent)
    : QWidget(parent), kind_(kind), caption_(caption), filter_(filter), edit_(new QLineEdit) {
  edit_->setClearButtonEnabled(true);
  auto* button = new QPushButton(tr("Browse…"));
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(edit_, 1);
  layout->addWidget(button);
  connect(button, &QPushButton::clicked, this, &PathField::browse);
  connect(edit_, &QLineEdit::textChanged, this, [this] { emit pathChanged(path()); });
}

QString PathField::path() const { return edit_->text().trimmed(); }

void PathField::setPath(const QString& path) { edit_->setText(QDir::toNativeSeparators(path)); }

void PathField::setPlaceholderText(const QString& text) { edit_->setPlaceholderText(text); }

void PathField::browse() {
  // Start next to what is already entered, which is usually where the other files are.
  QString start = path();
  if (kind_ == Kind::File && !start.isEmpty()) start = QFileInfo(start).absolutePath();
  const QString chosen = kind_ == Kind::File ? QFileDialog::getOpenFileName(this, caption_, start, filter_)
                                             : QFileDialog::getExistingDirectory(this, caption_, start);
  if (!chosen.isEmpty()) setPath(chosen);
}

}  // namespace studio::ui
