#include "train_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollBar>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QStyle>
#include <QTimer>
#include <QVBoxLayout>
#include <cmath>
#include <exception>

#include "common/atomic_file.h"
#include "common/config.h"
#include "common/run_folder.h"
#include "dataset_argument.h"
#include "dataset_document.h"
#include "error_banner.h"
#include "path_field.h"
#include "run_follower.h"
#include "studio_cli.h"
#include "training_plot.h"

namespace studio::ui {

namespace {

constexpr int kResolveDelayMs = 150;
const char* const kDemoRecipe = "solov2_r18_fpn_shapes_cpu.yaml";

// The largest entry of a short_side list (the recipes list several sizes for multi-scale training).
int largestOf(const std::vector<int>& sizes, int fallback) {
  int best = 0;
  for (int s : sizes) best = std::max(best, s);
  return best > 0 ? best : fallback;
}

// The recipe values the form shows, read from a recipe (`fallback` for the keys it leaves out).
// Throws studio::Error naming the file, line and key of a value of the wrong kind.
struct FormValues {
  int epochs = 0, batch = 0, inputSize = 0, longSide = 0;
  double lr = 0;
  Qt::CheckState amp = Qt::Unchecked;  // train.amp: false, auto, true
  bool modelResizes = false;  // data.input.resize: false: the sizes are model.transform's keys
  bool fixedSize = false;     // model.image_size (the SSDs): shown, not changed from the form
};
// Where a recipe keeps its input size: the loader's data.input.short_side / long_side, or, when
// the loader leaves the images at their own size (data.input.resize: false, two-stage models that
// resize inside the model as torchvision does), model.transform.min_size / max_size. The SSDs
// work on one square, model.image_size, that their priors are laid out for (SSD-MobileNetV2-Lite
// accepts 300 only), so the form shows it and leaves it alone.
FormValues readFormValues(const studio::Config& config, const FormValues& fallback) {
  const studio::ConfigNode train = config.at("train");
  const studio::ConfigNode input = config.at("data.input");
  const studio::ConfigNode model = config.at("model");
  FormValues v;
  v.epochs = train.get_int("epochs", fallback.epochs);
  v.batch = train.get_int("batch_size", fallback.batch);
  v.lr = train.child("optimizer").get_double("lr", fallback.lr);
  v.modelResizes = !input.get_bool("resize", true);
  const std::string amp = train.get_choice("amp", {"false", "true", "auto"}, "false");
  v.amp = amp == "true" ? Qt::Checked : amp == "auto" ? Qt::PartiallyChecked : Qt::Unchecked;
  if (model.has("image_size")) {
    v.fixedSize = true;
    v.inputSize = v.longSide = model.get_int("image_size");
    return v;
  }
  const studio::ConfigNode sizes = v.modelResizes ? config.at("model.transform") : input;
  v.inputSize = largestOf(sizes.get_int_list(v.modelResizes ? "min_size" : "short_side", {}), fallback.inputSize);
  v.longSide = sizes.get_int(v.modelResizes ? "max_size" : "long_side", fallback.longSide);
  return v;
}

}  // namespace

TrainPage::TrainPage(DatasetDocument* document, QWidget* parent)
    : QWidget(parent),
      document_(document),
      resolveTimer_(new QTimer(this)),
      datasetYamlFolder_(defaultDatasetYamlFolder()) {
  resolveTimer_->setSingleShot(true);
  resolveTimer_->setInterval(kResolveDelayMs);
  connect(resolveTimer_, &QTimer::timeout, this, &TrainPage::resolve);

  auto* splitter = new QSplitter(Qt::Horizontal);
  splitter->addWidget(buildForm());
  splitter->addWidget(buildRunArea());
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setSizes({400, 900});

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 8);
  layout->addWidget(splitter);

  if (document_) connect(document_, &DatasetDocument::datasetChanged, this, [this] {
      if (!trainDataEdited_) useOpenDataset();
    });
  findRecipes();
  queryDevices();
  onDeviceChanged();
  if (document_ && document_->hasDataset()) useOpenDataset();
  updateButtons();
}

TrainPage::~TrainPage() {
  // A run still going is asked to stop (it writes last.pt) rather than killed half-way.
  if (process_ && process_->state() != QProcess::NotRunning) {
    process_->disconnect(this);
    process_->terminate();
    if (!process_->waitForFinished(15000)) {
      process_->kill();
      process_->waitForFinished(3000);
    }
  }
  if (devicesProcess_) {
    devicesProcess_->disconnect(this);
    devicesProcess_->kill();
    devicesProcess_->waitForFinished(1000);
  }
}

QWidget* TrainPage::buildForm() {
  recipe_ = new QComboBox;
  recipe_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  recipe_->setMinimumContentsLength(18);
  auto* openRecipe = new QPushButton(tr("Open…"));
  openRecipe->setToolTip(tr("Use a recipe YAML of your own"));
  auto* recipeRow = new QHBoxLayout;
  recipeRow->addWidget(recipe_, 1);
  recipeRow->addWidget(openRecipe);

  trainData_ = new QLineEdit;
  trainData_->setPlaceholderText(tr("the recipe's data.train"));
  trainData_->setToolTip(
      tr("A dataset token (coco:ANN.json:IMAGES, voc:ROOT:SPLIT, txt:LIST:IMAGES[:NAMES]) or "
         "a dataset YAML; empty uses the recipe's data.train. Open dataset writes a dataset "
         "YAML when a token cannot say everything (a VOC names file)"));
  useOpenButton_ = new QPushButton(tr("Open dataset"));
  useOpenButton_->setToolTip(tr("Train on the dataset open on the Dataset page"));
  auto* trainRow = new QHBoxLayout;
  trainRow->addWidget(trainData_, 1);
  trainRow->addWidget(useOpenButton_);
  valData_ = new QLineEdit;
  valData_->setPlaceholderText(tr("the recipe's data.val"));
  valData_->setToolTip(tr("Evaluated every train.eval_interval epochs; empty uses the recipe's data.val. "
                          "Follows the open dataset (with Training data) until you type here"));

  epochs_ = new QSpinBox;
  epochs_->setRange(1, 10000);
  batch_ = new QSpinBox;
  batch_->setRange(1, 1024);
  batch_->setToolTip(tr("Images per device (per process) and iteration"));
  lr_ = new QDoubleSpinBox;
  lr_->setDecimals(6);
  lr_->setRange(1e-6, 10);
  lr_->setSingleStep(1e-4);
  inputSize_ = new QSpinBox;
  inputSize_->setRange(32, 4096);
  inputSize_->setSingleStep(32);
  inputSize_->setToolTip(tr("Short side of the resized images; the long side keeps the recipe's ratio"));
  device_ = new QComboBox;
  device_->addItem(tr("CPU"), QStringLiteral("cpu"));
  processes_ = new QSpinBox;
  processes_->setRange(1, 8);
  processesLabel_ = new QLabel(tr("Processes"));
  amp_ = new QCheckBox(tr("Mixed precision (AMP)"));
  amp_->setTristate(true);
  amp_->setToolTip(tr("train.amp, as the recipe says until changed: checked, float16 autocast with loss scaling "
                      "on CUDA and bfloat16 autocast on the CPU; partly checked, auto (on where the device has "
                      "fast half precision: CUDA, CPUs with AVX512-BF16 or AMX); unchecked, float"));
  extra_ = new QLineEdit;
  extra_->setPlaceholderText(tr("key=value; key=value"));
  extra_->setToolTip(tr("More recipe overrides, e.g. train.log_interval=5; train.eval_interval=2"));
  output_ = new PathField(PathField::Kind::Folder, tr("Run folder"));
  output_->setToolTip(tr("The run folder: config.yaml, events.jsonl, log.txt, checkpoints/, eval/"));

  auto* form = new QFormLayout;
  form->setContentsMargins(8, 6, 8, 8);
  form->addRow(tr("Recipe"), recipeRow);
  form->addRow(tr("Training data"), trainRow);
  form->addRow(tr("Validation data"), valData_);
  form->addRow(tr("Epochs"), epochs_);
  form->addRow(tr("Batch per device"), batch_);
  form->addRow(tr("Learning rate"), lr_);
  form->addRow(tr("Input size"), inputSize_);
  form->addRow(tr("Device"), device_);
  form->addRow(processesLabel_, processes_);
  form->addRow(QString(), amp_);
  form->addRow(tr("Overrides"), extra_);
  form->addRow(tr("Output folder"), output_);
  auto* formBox = new QGroupBox(tr("Training"));
  formBox->setLayout(form);

  yaml_ = new QPlainTextEdit;
  yaml_->setReadOnly(true);
  yaml_->setLineWrapMode(QPlainTextEdit::NoWrap);
  QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
  mono.setPointSizeF(font().pointSizeF() * 0.9);
  yaml_->setFont(mono);
  yamlError_ = new QLabel;
  yamlError_->setWordWrap(true);
  yamlError_->setStyleSheet(QStringLiteral("QLabel { color: #8a0014; }"));
  yamlError_->setVisible(false);
  auto* saveRecipe = new QPushButton(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("Save as recipe…"));
  auto* yamlBox = new QGroupBox(tr("Resolved recipe"));
  auto* yamlLayout = new QVBoxLayout(yamlBox);
  yamlLayout->setContentsMargins(8, 6, 8, 8);
  yamlLayout->addWidget(yaml_, 1);
  yamlLayout->addWidget(yamlError_);
  yamlLayout->addWidget(saveRecipe, 0, Qt::AlignRight);

  auto* panel = new QWidget;
  auto* layout = new QVBoxLayout(panel);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(formBox);
  layout->addWidget(yamlBox, 1);
  panel->setMinimumWidth(340);

  connect(recipe_, &QComboBox::currentIndexChanged, this, [this] {
    recipe_->setToolTip(recipe());
    fillFormFromRecipe();
    if (!outputEdited_) suggestOutput();
  });
  connect(openRecipe, &QPushButton::clicked, this, &TrainPage::openRecipeWithDialog);
  connect(useOpenButton_, &QPushButton::clicked, this, &TrainPage::useOpenDataset);
  connect(trainData_, &QLineEdit::textEdited, this, [this] { trainDataEdited_ = true; });
  connect(valData_, &QLineEdit::textEdited, this, [this] { valDataEdited_ = true; });
  connect(output_->lineEdit(), &QLineEdit::textEdited, this, [this] { outputEdited_ = true; });
  for (QLineEdit* e : {trainData_, valData_, extra_})
    connect(e, &QLineEdit::textChanged, this, &TrainPage::scheduleResolve);
  for (QSpinBox* s : {epochs_, batch_, inputSize_, processes_})
    connect(s, &QSpinBox::valueChanged, this, &TrainPage::scheduleResolve);
  connect(lr_, &QDoubleSpinBox::valueChanged, this, &TrainPage::scheduleResolve);
  connect(amp_, &QCheckBox::stateChanged, this, &TrainPage::scheduleResolve);
  connect(device_, &QComboBox::currentIndexChanged, this, &TrainPage::onDeviceChanged);
  connect(output_, &PathField::pathChanged, this, &TrainPage::updateButtons);
  connect(saveRecipe, &QPushButton::clicked, this, &TrainPage::saveRecipeWithDialog);
  return panel;
}

QWidget* TrainPage::buildRunArea() {
  startButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("Start"));
  startButton_->setDefault(true);
  stopButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaStop), tr("Stop"));
  stopButton_->setToolTip(tr("Stop after the current iteration; last.pt is written and Resume continues"));
  resumeButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaSeekForward), tr("Resume"));
  resumeButton_->setToolTip(
      tr("Continue the run folder from its last.pt, with the run's own recipe (its config.yaml) and the form's "
         "settings on top"));
  auto* openRun = new QPushButton(tr("Open run…"));
  openRun->setToolTip(tr("Follow a run folder started elsewhere; several runs are drawn together"));
  auto* clearRuns = new QPushButton(tr("Clear other runs"));
  clearRuns->setToolTip(tr("Remove every run but the current one from the charts"));
  progress_ = new QProgressBar;
  progress_->setMinimumWidth(100);
  progress_->setFormat(QStringLiteral("%v / %m"));
  progress_->setRange(0, 1);
  progress_->setValue(0);
  eta_ = new QLabel;
  eta_->setMinimumWidth(eta_->fontMetrics().horizontalAdvance(QStringLiteral("ETA 00:00:00")));
  status_ = new QLabel;
  // A long status line must not widen the page (it would push a 1024-pixel window off screen).
  status_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

  // Two rows, so that the page fits a 1024-pixel-wide screen beside the form: the run's buttons
  // and progress, then its status and the other runs' buttons.
  auto* actions = new QHBoxLayout;
  actions->addWidget(startButton_);
  actions->addWidget(stopButton_);
  actions->addWidget(resumeButton_);
  actions->addSpacing(8);
  actions->addWidget(progress_, 1);
  actions->addWidget(eta_);
  auto* statusRow = new QHBoxLayout;
  statusRow->addWidget(status_, 1);
  statusRow->addWidget(openRun);
  statusRow->addWidget(clearRuns);

  banner_ = makeErrorBanner();

  plot_ = new TrainingPlot;
  log_ = new QPlainTextEdit;
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(5000);
  log_->setLineWrapMode(QPlainTextEdit::NoWrap);
  QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
  mono.setPointSizeF(font().pointSizeF() * 0.9);
  log_->setFont(mono);

  auto* vertical = new QSplitter(Qt::Vertical);
  vertical->addWidget(plot_);
  vertical->addWidget(log_);
  vertical->setStretchFactor(0, 1);
  vertical->setStretchFactor(1, 0);
  vertical->setSizes({560, 130});

  auto* area = new QWidget;
  auto* layout = new QVBoxLayout(area);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(actions);
  layout->addLayout(statusRow);
  layout->addWidget(banner_);
  layout->addWidget(vertical, 1);

  connect(startButton_, &QPushButton::clicked, this, &TrainPage::start);
  connect(stopButton_, &QPushButton::clicked, this, &TrainPage::stop);
  connect(resumeButton_, &QPushButton::clicked, this, &TrainPage::resume);
  connect(openRun, &QPushButton::clicked, this, &TrainPage::openRunWithDialog);
  connect(clearRuns, &QPushButton::clicked, this, [this] {
    for (auto it = followed_.begin(); it != followed_.end();) {
      if (it->get() == current_) {
        ++it;
        continue;
      }
      plot_->removeRun((*it)->plotRun);
      it = followed_.erase(it);
    }
  });
  return area;
}

// ---- recipes, form and resolved YAML ----

QString TrainPage::recipeFolder() {
  const QDir app(QCoreApplication::applicationDirPath());
  QStringList candidates;
  for (const char* up : {"configs", "../configs", "../../configs", "../../../configs", "../share/studio/configs"})
    candidates << app.filePath(QLatin1String(up));
  candidates << QDir::current().filePath(QStringLiteral("configs"));
  for (const QString& c : candidates) {
    const QDir dir(c);
    if (dir.exists() && !dir.entryList({QStringLiteral("*.yaml")}, QDir::Files).isEmpty())
      return QDir::cleanPath(dir.absolutePath());
  }
  return {};
}

void TrainPage::findRecipes() {
  const QSignalBlocker block(recipe_);
  recipe_->clear();
  const QString folder = recipeFolder();
  if (!folder.isEmpty()) {
    const QDir dir(folder);
    for (const QString& name : dir.entryList({QStringLiteral("*.yaml")}, QDir::Files, QDir::Name))
      recipe_->addItem(name, dir.filePath(name));
  }
  // The demo recipe first: it is the one that trains in minutes on a CPU.
  const int demo = recipe_->findText(QLatin1String(kDemoRecipe));
  recipe_->setCurrentIndex(demo >= 0 ? demo : 0);
  fillFormFromRecipe();
  suggestOutput();
}

void TrainPage::setRecipe(const QString& path) {
  const QString absolute = QFileInfo(path).absoluteFilePath();
  int index = recipe_->findData(absolute);
  if (index < 0) {
    recipe_->addItem(QFileInfo(path).fileName(), absolute);
    index = recipe_->count() - 1;
  }
  if (recipe_->currentIndex() == index)
    fillFormFromRecipe();
  else
    recipe_->setCurrentIndex(index);
}

QString TrainPage::recipe() const { return recipe_->currentData().toString(); }

void TrainPage::fillFormFromRecipe() {
  recipeValues_ = RecipeValues{};
  const QString path = recipe();
  if (!path.isEmpty()) {
    try {
      const FormValues v = readFormValues(studio::Config::load(path.toStdString()),
                                          {recipeValues_.epochs, recipeValues_.batch, recipeValues_.inputSize,
                                           recipeValues_.longSide, recipeValues_.lr});
      recipeValues_.epochs = v.epochs;
      recipeValues_.batch = v.batch;
      recipeValues_.inputSize = v.inputSize;
      recipeValues_.longSide = v.longSide;
      recipeValues_.lr = v.lr;
      recipeValues_.modelResizes = v.modelResizes;
      recipeValues_.fixedSize = v.fixedSize;
      recipeValues_.amp = v.amp;
      recipeValues_.ok = true;
    } catch (const std::exception&) {
      // resolve() shows the error (it reads the same keys); the form keeps neutral values meanwhile.
    }
  }
  const QSignalBlocker b1(epochs_), b2(batch_), b3(lr_), b4(inputSize_), b5(amp_);
  amp_->setCheckState(recipeValues_.amp);
  // Values the recipe could not give (its error is shown beside): greyed, not passed off as its.
  for (QWidget* field : std::initializer_list<QWidget*>{epochs_, batch_, lr_, amp_}) field->setEnabled(recipeValues_.ok);
  epochs_->setValue(recipeValues_.epochs);
  batch_->setValue(recipeValues_.batch);
  lr_->setValue(recipeValues_.lr);
  inputSize_->setValue(recipeValues_.inputSize);
  inputSize_->setEnabled(recipeValues_.ok && !recipeValues_.fixedSize);
  inputSize_->setToolTip(
      recipeValues_.fixedSize
          ? tr("model.image_size: the model's priors are laid out for this square, so the "
               "recipe fixes it")
          : tr("Short side of the resized images; the long side keeps the recipe's ratio"));
  scheduleResolve();
}

QStringList TrainPage::overrides() const {
  QStringList out;
  if (epochs_->value() != recipeValues_.epochs) out << QStringLiteral("train.epochs=%1").arg(epochs_->value());
  if (batch_->value() != recipeValues_.batch) out << QStringLiteral("train.batch_size=%1").arg(batch_->value());
  if (std::abs(lr_->value() - recipeValues_.lr) > 1e-9 * std::max(1.0, recipeValues_.lr))
    out << QStringLiteral("train.optimizer.lr=%1").arg(lr_->value(), 0, 'g', 8);
  if (!recipeValues_.fixedSize && inputSize_->value() != recipeValues_.inputSize) {
    const int shortSide = inputSize_->value();
    const int longSide =
        int(std::lround(double(shortSide) * recipeValues_.longSide / std::max(1, recipeValues_.inputSize)));
    if (recipeValues_.modelResizes) {
      out << QStringLiteral("model.transform.min_size=[%1]").arg(shortSide);
      out << QStringLiteral("model.transform.max_size=%1").arg(longSide);
    } else {
      for (const char* key : {"data.input", "data.test_input"}) {
        out << QStringLiteral("%1.short_side=[%2]").arg(QLatin1String(key)).arg(shortSide);
        out << QStringLiteral("%1.long_side=%2").arg(QLatin1String(key)).arg(longSide);
      }
    }
  }
  if (amp_->checkState() != recipeValues_.amp)
    out << QStringLiteral("train.amp=%1")
               .arg(amp_->checkState() == Qt::Checked          ? QStringLiteral("true")
                    : amp_->checkState() == Qt::PartiallyChecked ? QStringLiteral("auto")
                                                                 : QStringLiteral("false"));
  for (const QString& part : extra_->text().split(QLatin1Char(';'), Qt::SkipEmptyParts)) {
    const QString o = part.trimmed();
    if (!o.isEmpty()) out << o;
  }
  return out;
}

QStringList TrainPage::trainArguments(bool resume) const {
  const QString out = QDir::cleanPath(QDir::current().absoluteFilePath(output_->path()));
  // Resume continues the run as it was made: its own resolved recipe (config.yaml), whatever the
  // recipe box shows now; the form's values (epochs, ...) still apply on top of it.
  QString config = recipe();
  if (resume) {
    const QString runRecipe = QString::fromStdString(studio::RunFolder{out.toStdString()}.config());
    if (QFileInfo(runRecipe).isFile()) config = runRecipe;
  }
  QStringList args{QStringLiteral("train"), QStringLiteral("--config"), config, QStringLiteral("--out"), out};
  for (const QString& o : overrides()) args << QStringLiteral("-o") << o;
  if (!trainData_->text().trimmed().isEmpty()) args << QStringLiteral("--train-data") << trainData_->text().trimmed();
  if (!valData_->text().trimmed().isEmpty()) args << QStringLiteral("--val-data") << valData_->text().trimmed();
  const QString device = device_->currentData().toString();
  args << QStringLiteral("--device") << device;
  if (processes_->value() > 1) args << QStringLiteral("--nproc") << QString::number(processes_->value());
  if (resume) args << QStringLiteral("--resume");
  return args;
}

QString TrainPage::resolvedYaml() const { return resolved_; }

void TrainPage::scheduleResolve() { resolveTimer_->start(); }

void TrainPage::resolve() {
  std::vector<std::string> all;
  for (const QString& o : overrides()) all.push_back(o.toStdString());
  // The datasets go to the CLI as --train-data/--val-data; shown in the YAML (and saved with a
  // recipe) as the data.train/data.val they replace.
  if (!trainData_->text().trimmed().isEmpty()) all.push_back("data.train=" + trainData_->text().trimmed().toStdString());
  if (!valData_->text().trimmed().isEmpty()) all.push_back("data.val=" + valData_->text().trimmed().toStdString());
  try {
    if (recipe().isEmpty()) throw std::runtime_error("no recipe: put recipes in configs/ or use Open…");
    const studio::Config config = studio::Config::load(recipe().toStdString(), all);
    // A value the form cannot read (epochs: many) is the recipe's error too: shown now, with its
    // file, line and key, instead of a studio-cli run started only to fail on it.
    (void)readFormValues(config, {});
    resolved_ = QString::fromStdString(config.to_yaml());
    resolveFailed_ = false;
    yaml_->setPlainText(resolved_);
    yamlError_->setVisible(false);
  } catch (const std::exception& e) {
    resolved_.clear();
    resolveFailed_ = true;
    yamlError_->setText(QString::fromLocal8Bit(e.what()));
    yamlError_->setVisible(true);
  }
  updateButtons();
}

void TrainPage::onDeviceChanged() {
  const bool cpu = device_->currentData().toString() == QLatin1String("cpu");
  processesLabel_->setText(cpu ? tr("CPU processes") : tr("GPUs"));
  processes_->setMaximum(cpu ? 8 : std::max(1, std::min<int>(8, int(gpuNames_.size()))));
  scheduleResolve();
}

void TrainPage::useOpenDataset() {
  if (!document_ || !document_->hasDataset()) return;
  QString argument;
  if (const std::optional<studio::DatasetSpec>& spec = document_->spec()) {
    // The token when it says everything the dataset was read with; otherwise (a VOC names file,
    // which voc:ROOT:SPLIT has no place for) a dataset YAML saying it, passed the same way.
    argument = exactDatasetToken(*spec);
    if (argument.isEmpty()) {
      try {
        argument = writeDatasetYaml(*spec, datasetYamlFolder_);
      } catch (const std::exception& e) {
        showBanner(tr("Could not write the open dataset as a dataset YAML for studio-cli: %1")
                       .arg(QString::fromLocal8Bit(e.what())));
        return;
      }
      appendLog(tr("training data: %1, the open dataset (%2) as a dataset YAML: no token says everything "
                   "it was read with (a VOC names file)")
                    .arg(argument, QString::fromStdString(spec->describe())));
    }
  } else {
    // Installed from elsewhere: usable only when its description is a token itself.
    const QString description = document_->description();
    for (const char* prefix : {"coco:", "voc:", "txt:"})
      if (description.startsWith(QLatin1String(prefix))) argument = description;
  }
  if (argument.isEmpty()) return;
  trainData_->setText(argument);
  trainDataEdited_ = false;
  // A recipe's data.val names its own validation set, which a fresh install does not have: unless
  // one was typed, validate on the open dataset too, and say what that measures.
  if (!valDataEdited_ && valData_->text() != argument) {
    valData_->setText(argument);
    appendLog(tr("validation data: the open dataset, as for training, so the APs measure the fit to the "
                 "training images; type another dataset under Validation data for a held-out score"));
  }
}

void TrainPage::setDatasetYamlFolder(const QString& folder) {
  datasetYamlFolder_ = folder;
  if (!trainDataEdited_) useOpenDataset();
}

void TrainPage::suggestOutput() {
  QString base = QDir::current().filePath(QStringLiteral("runs"));
  if (!QFileInfo(QDir::currentPath()).isWritable())
    base = QDir(QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation)).filePath(QStringLiteral("runs"));
  const QString stem = recipe().isEmpty() ? QStringLiteral("run") : QFileInfo(recipe()).completeBaseName();
  output_->setPath(QDir(base).filePath(
      QStringLiteral("%1-%2").arg(stem, QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")))));
  outputEdited_ = false;
}

// ---- devices ----

void TrainPage::queryDevices() {
  devicesProcess_ = new QProcess(this);
  connect(devicesProcess_, &QProcess::finished, this, &TrainPage::onDevicesAnswered);
  connect(devicesProcess_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
    if (error == QProcess::FailedToStart) onDevicesAnswered();
  });
  devicesProcess_->start(findStudioCli(), {QStringLiteral("devices"), QStringLiteral("--json")});
}

void TrainPage::onDevicesAnswered() {
  if (!devicesProcess_) return;
  QProcess* p = devicesProcess_;
  devicesProcess_ = nullptr;
  p->deleteLater();
  // Accepts [..] or {"devices": [..]}; an entry is a GPU when its type/kind names CUDA or it is
  // anything but "cpu" with an index. Anything unexpected leaves the CPU alone on offer.
  const QByteArray out = p->exitStatus() == QProcess::NormalExit && p->exitCode() == 0 ? p->readAllStandardOutput()
                                                                                       : QByteArray();
  const QJsonDocument doc = QJsonDocument::fromJson(out);
  const QJsonArray list = doc.isArray() ? doc.array() : doc.object().value(QLatin1String("devices")).toArray();
  gpuNames_.clear();
  for (const QJsonValue& v : list) {
    const QJsonObject d = v.toObject();
    const QString kind = (d.value(QLatin1String("type")).toString() + d.value(QLatin1String("kind")).toString() +
                          d.value(QLatin1String("device")).toString())
                             .toLower();
    const bool gpu = kind.contains(QLatin1String("cuda")) ||
                     (!kind.contains(QLatin1String("cpu")) && d.contains(QLatin1String("index")));
    if (!gpu) continue;
    QString name = d.value(QLatin1String("name")).toString();
    for (const char* key : {"memory_mb", "total_memory_mb", "memory"}) {
      const double mb = d.value(QLatin1String(key)).toDouble(-1);
      if (mb > 0) {
        name += QStringLiteral(" (%1 GB)").arg(mb / 1024.0, 0, 'f', 1);
        break;
      }
    }
    gpuNames_ << name;
  }
  if (!gpuNames_.isEmpty()) {
    device_->addItem(tr("CUDA GPUs (%1 found)").arg(gpuNames_.size()), QStringLiteral("cuda"));
    device_->setItemData(device_->count() - 1, gpuNames_.join(QLatin1Char('\n')), Qt::ToolTipRole);
    device_->setCurrentIndex(device_->count() - 1);
  } else {
    device_->setToolTip(tr("No CUDA device found (or `studio-cli devices` did not answer): CPU only"));
  }
  onDeviceChanged();
}

// ---- running ----

bool TrainPage::isRunning() const { return process_ && process_->state() != QProcess::NotRunning; }

int TrainPage::currentPlotRun() const { return current_ ? current_->plotRun : -1; }

QString TrainPage::errorText() const { return banner_->isVisible() ? banner_->text() : QString(); }

bool TrainPage::start() { return launch(false); }

bool TrainPage::resume() { return launch(true); }

// ---- small things ----

void TrainPage::appendLog(const QString& text) {
  QScrollBar* bar = log_->verticalScrollBar();
  const bool atEnd = bar->value() >= bar->maximum() - 2;
  log_->appendPlainText(text);
  if (atEnd) bar->setValue(bar->maximum());
}

void TrainPage::showBanner(const QString& message) {
  banner_->setText(message);
  banner_->setVisible(true);
}

void TrainPage::updateButtons() {
  const bool running = isRunning();
  startButton_->setEnabled(!running && !resolveFailed_ && !output_->path().isEmpty());
  output_->setEnabled(!running);  // during a run it names the folder being written
  stopButton_->setEnabled(running && !stopRequested_);
  const bool hasCheckpoint =
      !currentRunDir_.isEmpty() &&
      QFileInfo::exists(QString::fromStdString(RunFolder{currentRunDir_.toStdString()}.last_checkpoint()));
  resumeButton_->setEnabled(!running && hasCheckpoint && !resolveFailed_);
  useOpenButton_->setEnabled(document_ && document_->hasDataset());
}

void TrainPage::saveRecipe(const QString& path) {
  resolve();
  if (resolveFailed_) {
    showBanner(tr("Nothing to save: the recipe does not resolve."));
    return;
  }
  try {
    studio::write_file_atomic(path.toStdString(), resolved_.toStdString());
    appendLog(tr("recipe saved: %1").arg(path));
  } catch (const std::exception& e) {
    showBanner(tr("Could not save the recipe: %1").arg(QString::fromLocal8Bit(e.what())));
  }
}

void TrainPage::openRecipeWithDialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open recipe"), recipeFolder(),
                                                    tr("Recipes (*.yaml *.yml);;All files (*)"));
  if (!path.isEmpty()) setRecipe(path);
}

void TrainPage::openRunWithDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open run folder"), QDir::currentPath());
  if (!dir.isEmpty()) openRun(dir);
}

void TrainPage::saveRecipeWithDialog() {
  // Next to the recipe by default: relative dataset paths in it stay valid there.
  const QFileInfo from(recipe());
  const QString suggested = from.dir().filePath(from.completeBaseName() + QStringLiteral("_custom.yaml"));
  const QString path =
      QFileDialog::getSaveFileName(this, tr("Save as recipe"), suggested, tr("Recipes (*.yaml *.yml)"));
  if (!path.isEmpty()) saveRecipe(path);
}

}  // namespace studio::ui
