#include "placeholder_page.h"

#include <QLabel>
#include <QVBoxLayout>

namespace studio::ui {

PlaceholderPage::PlaceholderPage(const QString& title, const QString& summary, const QStringList& plans,
                                 QWidget* parent)
    : QWidget(parent) {
  QString items;
  for (const QString& plan : plans) items += QStringLiteral("<li>%1</li>").arg(plan.toHtmlEscaped());
  auto* text = new QLabel(tr("<h2>%1</h2>"
                             "<p><b>This page comes in a later release.</b> %2</p>"
                             "<p>It will let you:</p><ul>%3</ul>")
                              .arg(title.toHtmlEscaped(), summary.toHtmlEscaped(), items));
  text->setWordWrap(true);
  text->setTextFormat(Qt::RichText);
  text->setAlignment(Qt::AlignLeft | Qt::AlignTop);
  text->setMaximumWidth(640);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(32, 24, 32, 24);
  layout->addWidget(text, 0, Qt::AlignHCenter | Qt::AlignTop);
  layout->addStretch(1);
}

}  // namespace studio::ui
