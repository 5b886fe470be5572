#pragma once
// The Dataset stage: import (or generate the demo), summary and class histogram, the image
// browser with the ground truth drawn, and the checker's findings linked to the browser.
// With no dataset open it offers the demo dataset in one click.
#include <QPointer>
#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;
class QStackedWidget;

namespace studio::ui {

class ClassHistogram;
class DatasetDocument;
class DatasetSummary;
class FindingsView;
class ImageBrowser;
class ImportDialog;

class DatasetPage : public QWidget {
  Q_OBJECT

 public:
  explicit DatasetPage(DatasetDocument* document, QWidget* parent = nullptr);

  [[nodiscard]] DatasetDocument* document() const { return document_; }
  [[nodiscard]] ImageBrowser* browser() const { return browser_; }
  [[nodiscard]] ClassHistogram* histogram() const { return histogram_; }
  [[nodiscard]] DatasetSummary* summary() const { return summary_; }
  [[nodiscard]] FindingsView* findings() const { return findings_; }
  [[nodiscard]] QPushButton* demoButton() const { return welcomeDemoButton_; }
  // The last failure shown in the banner (empty when none).
  [[nodiscard]] QString errorText() const;
  // True while the welcome panel (no dataset yet) is shown.
  [[nodiscard]] bool showsWelcome() const;

 public slots:
  void openDemo();
  void showImportDialog();
  void checkAnnotations();

 private:
  QWidget* buildWelcome();
  QWidget* buildContent();
  void onBusyChanged(bool busy);
  void onProgress(qint64 done, qint64 total, const QString& stage);
  void showBanner(const QString& message);

  DatasetDocument* document_;
  QPushButton* importButton_;
  QPushButton* demoButton_;
  QPushButton* checkButton_;
  QLabel* stage_;
  QProgressBar* progress_;
  QPushButton* cancelButton_;
  QLabel* banner_;
  QStackedWidget* stack_;
  QWidget* welcome_;
  QPushButton* welcomeDemoButton_;
  DatasetSummary* summary_;
  ClassHistogram* histogram_;
  ImageBrowser* browser_;
  FindingsView* findings_;
  QPointer<ImportDialog> importDialog_;
};

}  // namespace studio::ui
