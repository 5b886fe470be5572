#pragma once
// Imports a dataset in one of the three formats. The inputs are checked before anything is
// read; the reading itself runs in the document's background job, with progress and Cancel
// here, and a reader's error (studio::Error text) is shown in the dialog, which stays open so
// the user can fix the path and try again.
#include <QDialog>
#include <optional>

#include "data/dataset_spec.h"

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;
class QTabWidget;

namespace studio::ui {

class DatasetDocument;
class PathField;

class ImportDialog : public QDialog {
  Q_OBJECT

 public:
  explicit ImportDialog(DatasetDocument* document, QWidget* parent = nullptr);

  void setCoco(const QString& annotations, const QString& images);
  void setVoc(const QStringList& roots, const QString& split, const QString& names = {});
  void setTxt(const QString& list, const QString& images, const QString& names = {});

  // The spec the current tab describes, or nullopt with `problem` saying what to fix.
  [[nodiscard]] std::optional<studio::DatasetSpec> spec(QString* problem) const;
  [[nodiscard]] QString errorText() const;
  [[nodiscard]] bool isLoading() const { return loading_; }

 public slots:
  // What "Open" does: validates, then starts reading. Returns false when the inputs are
  // incomplete or the document is busy (the reason is shown).
  bool openDataset();
  void reject() override;

 private:
  QWidget* buildCocoTab();
  QWidget* buildVocTab();
  QWidget* buildTxtTab();
  void setLoading(bool loading);
  void showError(const QString& message);

  DatasetDocument* document_;
  QTabWidget* tabs_;
  PathField* cocoAnnotations_;
  PathField* cocoImages_;
  QListWidget* vocRoots_;
  QComboBox* vocSplit_;
  QCheckBox* vocStandardClasses_;
  PathField* vocNames_;
  PathField* txtList_;
  PathField* txtImages_;
  PathField* txtNames_;
  QLabel* error_;
  QLabel* stage_;
  QProgressBar* progress_;
  QDialogButtonBox* buttons_;
  QPushButton* openButton_;
  bool loading_ = false;
};

}  // namespace studio::ui
