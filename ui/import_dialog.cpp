#include "import_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QTabWidget>
#include <QVBoxLayout>

#include "dataset_document.h"
#include "path_field.h"

namespace studio::ui {

namespace {

enum Tab { CocoTab, VocTab, TxtTab };

QString native(const QString& path) { return QDir::toNativeSeparators(path); }

// An empty string when `path` is an existing file, else what is wrong with it.
QString fileProblem(const QString& path, const QString& what) {
  if (path.isEmpty()) return QObject::tr("Choose the %1.").arg(what);
  const QFileInfo info(path);
  if (!info.exists()) return QObject::tr("The %1 %2 does not exist.").arg(what, native(path));
  if (!info.isFile()) return QObject::tr("The %1 %2 is not a file.").arg(what, native(path));
  if (!info.isReadable())
    return QObject::tr("The %1 %2 cannot be read (permissions).").arg(what, native(path));
  return {};
}

QString folderProblem(const QString& path, const QString& what) {
  if (path.isEmpty()) return QObject::tr("Choose the %1.").arg(what);
  const QFileInfo info(path);
  if (!info.exists()) return QObject::tr("The %1 %2 does not exist.").arg(what, native(path));
  if (!info.isDir()) return QObject::tr("The %1 %2 is not a folder.").arg(what, native(path));
  return {};
}

QLabel* hint(const QString& text) {
  auto* label = new QLabel(text);
  label->setWordWrap(true);
  label->setForegroundRole(QPalette::PlaceholderText);
  return label;
}

}  // namespace

ImportDialog::ImportDialog(DatasetDocument* document, QWidget* parent)
    : QDialog(parent), document_(document) {
  setWindowTitle(tr("Import a dataset"));
  tabs_ = new QTabWidget;
  tabs_->addTab(buildCocoTab(), tr("COCO"));
  tabs_->addTab(buildVocTab(), tr("Pascal VOC"));
  tabs_->addTab(buildTxtTab(), tr("TXT list"));

  error_ = new QLabel;
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->setStyleSheet(QStringLiteral("QLabel { color: #b00020; }"));
  error_->setVisible(false);
  stage_ = new QLabel;
  progress_ = new QProgressBar;
  progress_->setTextVisible(true);
  stage_->setVisible(false);
  progress_->setVisible(false);

  buttons_ = new QDialogButtonBox(QDialogButtonBox::Cancel);
  openButton_ = buttons_->addButton(tr("Open"), QDialogButtonBox::AcceptRole);
  openButton_->setDefault(true);
  connect(openButton_, &QPushButton::clicked, this, &ImportDialog::openDataset);
  connect(buttons_, &QDialogButtonBox::rejected, this, &ImportDialog::reject);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(tabs_);
  layout->addWidget(error_);
  layout->addWidget(stage_);
  layout->addWidget(progress_);
  layout->addWidget(buttons_);
  resize(620, sizeHint().height());

  connect(document_, &DatasetDocument::progress, this,
          [this](qint64 done, qint64 total, const QString& stage) {
            if (!loading_) return;
            stage_->setText(stage);
            // An unknown total shows a busy bar rather than a bar stuck at zero.
            progress_->setRange(0, total > 0 ? 1000 : 0);
            if (total > 0) progress_->setValue(static_cast<int>(1000 * done / total));
          });
  connect(document_, &DatasetDocument::datasetChanged, this, [this] {
    if (!loading_) return;
    setLoading(false);
    accept();
  });
  connect(document_, &DatasetDocument::failed, this,
          [this](DatasetDocument::Operation op, const QString& message) {
            if (!loading_ || op != DatasetDocument::Operation::Open) return;
            setLoading(false);
            showError(message);
          });
  connect(document_, &DatasetDocument::cancelled, this, [this](DatasetDocument::Operation op) {
    if (!loading_ || op != DatasetDocument::Operation::Open) return;
    setLoading(false);
    showError(tr("Loading cancelled. The dataset that was open stays open."));
  });
}

QWidget* ImportDialog::buildCocoTab() {
  auto* page = new QWidget;
  cocoAnnotations_ = new PathField(PathField::Kind::File, tr("COCO annotation file"),
                                   tr("COCO JSON (*.json);;All files (*)"));
  cocoAnnotations_->setPlaceholderText(tr("e.g. annotations/instances_val2017.json"));
  cocoImages_ = new PathField(PathField::Kind::Folder, tr("Image folder"));
  cocoImages_->setPlaceholderText(tr("the folder the file_name entries are relative to, e.g. val2017/"));
  auto* form = new QFormLayout(page);
  form->addRow(hint(tr("A COCO instances file (JSON) and the folder holding its images.")));
  form->addRow(tr("Annotation file:"), cocoAnnotations_);
  form->addRow(tr("Image folder:"), cocoImages_);
  return page;
}

QWidget* ImportDialog::buildVocTab() {
  auto* page = new QWidget;
  vocRoots_ = new QListWidget;
  vocRoots_->setMinimumHeight(70);
  auto* add = new QPushButton(tr("Add root…"));
  auto* remove = new QPushButton(tr("Remove"));
  connect(add, &QPushButton::clicked, this, [this] {
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("VOC root (the folder holding Annotations/)"));
    if (!dir.isEmpty()) vocRoots_->addItem(native(dir));
  });
  connect(remove, &QPushButton::clicked, this, [this] { delete vocRoots_->currentItem(); });
  auto* rootButtons = new QVBoxLayout;
  rootButtons->addWidget(add);
  rootButtons->addWidget(remove);
  rootButtons->addStretch(1);
  auto* roots = new QHBoxLayout;
  roots->addWidget(vocRoots_, 1);
  roots->addLayout(rootButtons);

  vocSplit_ = new QComboBox;
  vocSplit_->setEditable(true);
  vocSplit_->addItems(
      {QStringLiteral("trainval"), QStringLiteral("train"), QStringLiteral("val"), QStringLiteral("test")});
  vocStandardClasses_ =
      new QCheckBox(tr("The 20 standard VOC classes (uncheck for the classes found in the files)"));
  vocStandardClasses_->setChecked(true);
  // A names file fixes the classes and their order (a VOC folder of one's own classes, such as
  // `studio-cli synth --format voc` writes with its names.txt); the checkbox then has no say.
  vocNames_ = new PathField(PathField::Kind::File, tr("Class names"),
                            tr("Text files (*.txt *.names);;All files (*)"));
  vocNames_->setPlaceholderText(tr("optional: one class name a line; only these classes, in this order"));
  connect(vocNames_, &PathField::pathChanged, this,
          [this] { vocStandardClasses_->setEnabled(vocNames_->path().isEmpty()); });

  auto* form = new QFormLayout(page);
  form->addRow(
      hint(tr("One or more VOC roots (e.g. VOCdevkit/VOC2007 and VOC2012, read together) and the "
              "split listed in ImageSets/Main/.")));
  form->addRow(tr("Roots:"), roots);
  form->addRow(tr("Split:"), vocSplit_);
  form->addRow(tr("Names (optional):"), vocNames_);
  form->addRow(QString(), vocStandardClasses_);
  return page;
}

QWidget* ImportDialog::buildTxtTab() {
  auto* page = new QWidget;
  txtList_ = new PathField(PathField::Kind::File, tr("TXT list"), tr("Text lists (*.txt);;All files (*)"));
  txtList_->setPlaceholderText(tr("one image a line: path.jpg x1,y1,x2,y2,cls ..."));
  txtImages_ = new PathField(PathField::Kind::Folder, tr("Image folder"));
  txtImages_->setPlaceholderText(tr("the folder the listed paths are relative to"));
  txtNames_ = new PathField(PathField::Kind::File, tr("Class names"),
                            tr("Text files (*.txt *.names);;All files (*)"));
  txtNames_->setPlaceholderText(tr("optional: one class name a line"));
  auto* form = new QFormLayout(page);
  form->addRow(
      hint(tr("A list with one image a line and its boxes, the image folder, and optionally the "
              "class names (line k names class k).")));
  form->addRow(tr("List:"), txtList_);
  form->addRow(tr("Image folder:"), txtImages_);
  form->addRow(tr("Names (optional):"), txtNames_);
  return page;
}

void ImportDialog::setCoco(const QString& annotations, const QString& images) {
  tabs_->setCurrentIndex(CocoTab);
  cocoAnnotations_->setPath(annotations);
  cocoImages_->setPath(images);
}

void ImportDialog::setVoc(const QStringList& roots, const QString& split, const QString& names) {
  tabs_->setCurrentIndex(VocTab);
  vocRoots_->clear();
  for (const QString& root : roots) vocRoots_->addItem(native(root));
  vocSplit_->setCurrentText(split);
  vocNames_->setPath(names);
}

void ImportDialog::setTxt(const QString& list, const QString& images, const QString& names) {
  tabs_->setCurrentIndex(TxtTab);
  txtList_->setPath(list);
  txtImages_->setPath(images);
  txtNames_->setPath(names);
}

std::optional<studio::DatasetSpec> ImportDialog::spec(QString* problem) const {
  studio::DatasetSpec spec;
  QString issue;
  auto firstProblem = [&](std::initializer_list<QString> problems) {
    for (const QString& p : problems)
      if (!p.isEmpty()) return p;
    return QString();
  };
  switch (tabs_->currentIndex()) {
    case CocoTab:
      spec.format = studio::DatasetFormat::Coco;
      spec.annotations = cocoAnnotations_->path().toStdString();
      spec.images = cocoImages_->path().toStdString();
      issue = firstProblem({fileProblem(cocoAnnotations_->path(), tr("annotation file")),
                            folderProblem(cocoImages_->path(), tr("image folder"))});
      break;
    case VocTab: {
      spec.format = studio::DatasetFormat::Voc;
      const QString split = vocSplit_->currentText().trimmed();
      spec.split = split.toStdString();
      spec.voc_standard_classes = vocStandardClasses_->isChecked();
      spec.names = vocNames_->path().toStdString();
      if (vocRoots_->count() == 0)
        issue = tr("Add at least one VOC root (the folder holding Annotations/ and JPEGImages/).");
      if (issue.isEmpty() && split.isEmpty())
        issue = tr("Choose the split (a file name in ImageSets/Main/).");
      for (int i = 0; i < vocRoots_->count() && issue.isEmpty(); ++i) {
        const QString root = vocRoots_->item(i)->text();
        issue = folderProblem(root, tr("VOC root"));
        const QDir dir(root);
        if (issue.isEmpty() && !dir.exists(QStringLiteral("Annotations")))
          issue = tr("%1 has no Annotations folder: is it a VOC root such as VOCdevkit/VOC2007?").arg(root);
        if (issue.isEmpty() &&
            !QFileInfo::exists(dir.filePath(QStringLiteral("ImageSets/Main/%1.txt").arg(split))))
          issue = tr("%1 has no split file ImageSets/Main/%2.txt.").arg(root, split);
        spec.roots.push_back(root.toStdString());
      }
      if (issue.isEmpty() && !vocNames_->path().isEmpty())
        issue = fileProblem(vocNames_->path(), tr("names file"));
      break;
    }
    case TxtTab:
      spec.format = studio::DatasetFormat::Txt;
      spec.annotations = txtList_->path().toStdString();
      spec.images = txtImages_->path().toStdString();
      spec.names = txtNames_->path().toStdString();
      issue = firstProblem(
          {fileProblem(txtList_->path(), tr("list file")),
           folderProblem(txtImages_->path(), tr("image folder")),
           txtNames_->path().isEmpty() ? QString() : fileProblem(txtNames_->path(), tr("names file"))});
      break;
  }
  if (problem) *problem = issue;
  if (!issue.isEmpty()) return std::nullopt;
  return spec;
}

QString ImportDialog::errorText() const { return error_->text(); }

bool ImportDialog::openDataset() {
  QString problem;
  const std::optional<studio::DatasetSpec> chosen = spec(&problem);
  if (!chosen) {
    showError(problem);
    return false;
  }
  if (!document_->open(*chosen)) {
    showError(tr("Another dataset operation is still running; wait for it or cancel it first."));
    return false;
  }
  error_->clear();
  error_->setVisible(false);
  setLoading(true);
  return true;
}

void ImportDialog::reject() {
  // Cancel stops the reading first; the dialog stays to say that it stopped.
  if (loading_) {
    document_->cancel();
    return;
  }
  QDialog::reject();
}

void ImportDialog::setLoading(bool loading) {
  loading_ = loading;
  tabs_->setEnabled(!loading);
  openButton_->setEnabled(!loading);
  stage_->setVisible(loading);
  progress_->setVisible(loading);
  if (loading) {
    stage_->setText(tr("Reading…"));
    progress_->setRange(0, 0);
  }
}

void ImportDialog::showError(const QString& message) {
  error_->setText(message);
  error_->setVisible(!message.isEmpty());
}

}  // namespace studio::ui
