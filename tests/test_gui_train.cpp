// The Train page and what it is built on, on the offscreen platform:
// (RunFollower and TrainingPlot alone: tests/test_gui_run_plot.cpp)
// - the page end to end: a short shapes run started from the form through studio-cli, points on
//   the loss chart, Stop ends the process cleanly with last.pt written, and a run that fails
//   (an unknown recipe key) shows the trainer's message while the studio goes on; Resume
//   continues a stopped run's folder to its end;
// - what starts nothing: a studio-cli that cannot start, a recipe that does not read;
// - "Open dataset" naming the open dataset for studio-cli: a TXT list by its token, a VOC folder
//   read with a names file by a dataset YAML (voc:ROOT:SPLIT cannot carry the names file), read
//   back to the same classes; the SSD recipes listed, with their fixed 300x300 input.
// studio-cli's path comes from CMake (STUDIO_CLI_PATH) unless STUDIO_CLI is set.
#include <qcustomplot.h>

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

#include "data/dataset_spec.h"
#include "data/shapes_generator.h"
#include "dataset_document.h"
#include "gui_test_support.h"
#include "main_window.h"
#include "path_field.h"
#include "run_follower.h"
#include "test_support.h"
#include "train_page.h"
#include "training_plot.h"

using studio::ui::RunEvent;
using studio::ui::RunFollower;
using studio::ui::TrainingPlot;
using studio::ui::TrainPage;

using studio::test::saveShot;
using studio::test::trainLine;
using studio::test::writeFile;

class TestGuiTrain : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void pageBuildsTheCommand();
  void pageOffersTheMaskRcnnRecipes();
  void pageOffersTheSsdRecipes();
  void openDatasetNamesItForStudioCli();
  void pageTrainsAndStops();
  void failedRunShowsItsError();
  void resumeContinuesTheStoppedRun();
  void studioCliThatCannotStartLeavesThePageIdle_data();
  void studioCliThatCannotStartLeavesThePageIdle();
  void badRecipeStartsNothing_data();
  void badRecipeStartsNothing();
  void fitsAt1024PixelsWide();

 private:
  // The window shown on its Train page (nullptr when it does not come up).
  TrainPage* showPage(studio::ui::MainWindow& window);
  // showPage with the shapes recipe, the test's datasets and a short, small run in the form.
  TrainPage* makePage(studio::ui::MainWindow& window);

  QTemporaryDir dir_;
  QString trainToken_, valToken_, recipe_;
};

void TestGuiTrain::initTestCase() {
  QVERIFY(dir_.isValid());
  static QtMessageHandler testLibHandler = nullptr;
  testLibHandler =
      qInstallMessageHandler([](QtMsgType type, const QMessageLogContext& context, const QString& text) {
        if (!text.contains(QLatin1String("propagateSizeHints"))) testLibHandler(type, context, text);
      });
  if (qEnvironmentVariableIsEmpty("STUDIO_CLI")) qputenv("STUDIO_CLI", STUDIO_CLI_PATH);
  // Dataset YAMLs the page writes (and anything else under AppLocalDataLocation) stay in the test's folder.
  qputenv("XDG_DATA_HOME", dir_.filePath("xdg").toUtf8());
  recipe_ = QStringLiteral(STUDIO_TEST_DATA_DIR "/../../configs/solov2_r18_fpn_shapes_cpu.yaml");
  QVERIFY(QFileInfo::exists(recipe_));
  // A tiny shapes set: 8 training images (4 iterations an epoch at batch 2), 2 for validation.
  for (const auto& [name, images, seed] : {std::tuple{"train", 8, 1}, std::tuple{"val", 2, 2}}) {
    studio::ShapesOptions o;
    o.out_dir = dir_.filePath(QLatin1String(name)).toStdString();
    o.images = images;
    o.seed = seed;
    o.size = 96;
    (void)studio::generate_shapes(o);
  }
  trainToken_ = QStringLiteral("coco:%1/train/annotations.json:%1/train/images").arg(dir_.path());
  valToken_ = QStringLiteral("coco:%1/val/annotations.json:%1/val/images").arg(dir_.path());
}

TrainPage* TestGuiTrain::showPage(studio::ui::MainWindow& window) {
  window.resize(1400, 900);
  window.show();
  if (!QTest::qWaitForWindowExposed(&window)) return nullptr;
  window.showStage(studio::ui::MainWindow::TrainStage);
  return window.findChild<TrainPage*>();
}

TrainPage* TestGuiTrain::makePage(studio::ui::MainWindow& window) {
  TrainPage* page = showPage(window);
  if (!page) return nullptr;
  page->setRecipe(recipe_);
  page->trainDataField()->setText(trainToken_);
  page->valDataField()->setText(valToken_);
  page->epochsField()->setValue(50);
  page->batchField()->setValue(2);
  page->inputSizeField()->setValue(64);
  return page;
}

void TestGuiTrain::pageBuildsTheCommand() {
  studio::ui::MainWindow window;
  TrainPage* page = makePage(window);
  QVERIFY(page);
  QCOMPARE(QFileInfo(page->recipe()).fileName(), QStringLiteral("solov2_r18_fpn_shapes_cpu.yaml"));
  page->lrField()->setValue(0.002);
  page->extraOverridesField()->setText("train.log_interval=1 ; data.workers=0");
  page->outputField()->setPath(dir_.filePath("cmd-run"));
  // The recipe's batch (16), lr (0.005), epochs (12) and 128-pixel input differ from the form.
  const QStringList expected{"train.epochs=50",
                             "train.batch_size=2",
                             "train.optimizer.lr=0.002",
                             "data.input.short_side=[64]",
                             "data.input.long_side=64",
                             "data.test_input.short_side=[64]",
                             "data.test_input.long_side=64",
                             "train.log_interval=1",
                             "data.workers=0"};
  QCOMPARE(page->overrides(), expected);
  // AMP shows the recipe's train.amp (the shapes recipe: auto, partly checked) and overrides it
  // only when changed.
  QCOMPARE(page->ampField()->checkState(), Qt::PartiallyChecked);
  page->ampField()->setCheckState(Qt::Unchecked);
  QVERIFY(page->overrides().contains("train.amp=false"));
  page->ampField()->setCheckState(Qt::PartiallyChecked);
  QVERIFY(!page->overrides().join(' ').contains("train.amp"));
  const QStringList args = page->trainArguments(true);
  QCOMPARE(args.mid(0, 5), (QStringList{"train", "--config", page->recipe(), "--out", dir_.filePath("cmd-run")}));
  QVERIFY(args.contains("--resume"));
  QCOMPARE(args.at(args.indexOf("--train-data") + 1), trainToken_);
  QCOMPARE(args.at(args.indexOf("--device") + 1), QStringLiteral("cpu"));
  QVERIFY(!args.contains("--nproc"));  // one process
  page->processesField()->setValue(2);
  QCOMPARE(page->trainArguments(false).at(page->trainArguments(false).indexOf("--nproc") + 1), QStringLiteral("2"));
  QVERIFY(!page->trainArguments(false).contains("--resume"));
  // The resolved YAML shows the form's values and the datasets.
  QTRY_VERIFY(page->resolvedYaml().contains("epochs: 50"));
  QVERIFY(page->resolvedYaml().contains("lr: 0.002"));
  QVERIFY(page->resolvedYaml().contains(trainToken_));
  page->saveRecipe(dir_.filePath("saved.yaml"));
  QFile saved(dir_.filePath("saved.yaml"));
  QVERIFY(saved.open(QIODevice::ReadOnly));
  QCOMPARE(QString::fromUtf8(saved.readAll()), page->resolvedYaml());
}

// Mask R-CNN's recipes are in the list; their input size is model.transform's (the loader keeps
// the images at their own size, data.input.resize: false), and so are the form's overrides.
void TestGuiTrain::pageOffersTheMaskRcnnRecipes() {
  studio::ui::MainWindow window;
  TrainPage* page = showPage(window);
  QVERIFY(page);
  const QComboBox* recipes = page->recipeField();
  for (const char* name : {"mask_rcnn_r18_fpn_shapes_cpu.yaml", "mask_rcnn_r50_fpn_1x_coco.yaml"})
    QVERIFY2(recipes->findText(QLatin1String(name)) >= 0, name);
  page->setRecipe(QStringLiteral(STUDIO_TEST_DATA_DIR "/../../configs/mask_rcnn_r50_fpn_1x_coco.yaml"));
  QCOMPARE(page->inputSizeField()->value(), 800);  // model.transform.min_size [800]
  QCOMPARE(page->epochsField()->value(), 12);
  QCOMPARE(page->batchField()->value(), 2);
  QVERIFY(page->overrides().isEmpty());

  page->setRecipe(QStringLiteral(STUDIO_TEST_DATA_DIR "/../../configs/mask_rcnn_r18_fpn_shapes_cpu.yaml"));
  QCOMPARE(page->inputSizeField()->value(), 128);
  page->trainDataField()->setText(trainToken_);
  page->valDataField()->setText(valToken_);
  page->inputSizeField()->setValue(96);
  const QStringList expected{"model.transform.min_size=[96]", "model.transform.max_size=96"};
  QCOMPARE(page->overrides(), expected);
  // The overrides resolve (no data.input.short_side, which this recipe's loader would refuse).
  QTRY_VERIFY(page->resolvedYaml().contains("type: mask_rcnn"));
  QVERIFY(page->resolvedYaml().contains("max_size: 96"));
  QVERIFY(page->resolvedYaml().contains(trainToken_));
  saveShot(window, "train_mask_rcnn");
}

// Every SSD recipe in configs/ (SSD-MobileNetV2-Lite and SSD-ResNet50-FPN) is on the list and
// resolves; its input is the model's fixed square (model.image_size: 300, 640, or 128 for the CPU
// shapes recipe), shown and not offered for change, so the form adds no override.
void TestGuiTrain::pageOffersTheSsdRecipes() {
  studio::ui::MainWindow window;
  TrainPage* page = showPage(window);
  QVERIFY(page);
  const QDir configs(QStringLiteral(STUDIO_TEST_DATA_DIR "/../../configs"));
  const QStringList ssd = configs.entryList({QStringLiteral("ssd_*.yaml")}, QDir::Files);
  for (const char* must : {"ssd_mobilenetv2_lite_voc.yaml", "ssd_mobilenetv2_lite_shapes_cpu.yaml",
                           "ssd_resnet50_fpn_coco.yaml", "ssd_resnet50_fpn_shapes_cpu.yaml"})
    QVERIFY2(ssd.contains(QLatin1String(must)), qPrintable(ssd.join(", ")));
  for (const QString& name : ssd) {
    const bool r50 = name.startsWith("ssd_resnet50_fpn");
    QVERIFY2(page->recipeField()->findText(name) >= 0, qPrintable(name));
    page->setRecipe(configs.filePath(name));
    QCOMPARE(page->inputSizeField()->value(), !r50 ? 300 : name.contains("shapes") ? 128 : 640);
    QVERIFY(!page->inputSizeField()->isEnabled());
    QVERIFY2(page->overrides().isEmpty(), qPrintable(page->overrides().join("; ")));
    // Saving resolves it now: the recipe reads, and the saved YAML is the SSD's.
    const QString saved = dir_.filePath("resolved_" + name);
    page->saveRecipe(saved);
    QVERIFY2(page->errorText().isEmpty(), qPrintable(page->errorText()));
    if (name == "ssd_resnet50_fpn_coco.yaml") saveShot(window, "train_ssd_resnet50_fpn");
    QFile file(saved);
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(saved));
    QVERIFY2(file.readAll().contains(r50 ? "type: ssd_resnet50_fpn" : "type: ssd_mobilenetv2_lite"), qPrintable(name));
  }
  // Back to a recipe whose input size the form sets.
  page->setRecipe(recipe_);
  QVERIFY(page->inputSizeField()->isEnabled());
}

// "Open dataset" on a TXT list gives its one token (names file included, paths absolute). On a
// VOC folder read with a names file it gives a dataset YAML that the page wrote, because the
// token voc:ROOT:SPLIT has no place for the names file: read back as studio-cli reads
// --train-data, it is the same dataset with the same classes in the names file's order. The same
// folder without a names file is a plain token again.
void TestGuiTrain::openDatasetNamesItForStudioCli() {
  QTemporaryDir data;
  QVERIFY(data.isValid());
  // The TXT list: two 32x32 images, classes from names.txt.
  for (const char* name : {"a.png", "b.png"}) {
    QImage image(32, 32, QImage::Format_RGB32);
    image.fill(Qt::darkGray);
    QVERIFY(image.save(data.filePath(QLatin1String(name))));
  }
  const std::string list =
      studio::test::write_text(data, "list.txt", "a.png 2,2,20,20,0\nb.png 4,4,30,30,1 1,1,9,9,0\n");
  const std::string txtNames = studio::test::write_text(data, "names.txt", "circle\nsquare\n");
  // The VOC folder: one image with a dog and a cat; my_classes.txt lists dog, cat, bird, classes
  // and an order unlike the 20 standard ones (cat before dog), so a reader that dropped the names
  // file would give other classes and ids.
  for (const char* sub : {"VOC/Annotations", "VOC/ImageSets/Main", "VOC/JPEGImages"})
    QVERIFY(QDir(data.path()).mkpath(QLatin1String(sub)));
  studio::test::write_text(data, "VOC/ImageSets/Main/trainval.txt", "a\n");
  studio::test::write_text(
      data, "VOC/Annotations/a.xml",
      "<annotation>\n<filename>a.jpg</filename>\n<size><width>32</width><height>32</height></size>\n"
      "<object><name>dog</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>20</xmax><ymax>20</ymax></bndbox>"
      "</object>\n<object><name>cat</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>30</xmax><ymax>30</ymax>"
      "</bndbox></object>\n</annotation>\n");
  const std::string vocNames = studio::test::write_text(data, "VOC/my_classes.txt", "dog\ncat\nbird\n");
  const QString vocRoot = data.filePath("VOC");

  studio::ui::MainWindow window;
  TrainPage* page = showPage(window);
  QVERIFY(page);
  const QString yamlFolder = dir_.filePath("dataset-yamls");
  page->setDatasetYamlFolder(yamlFolder);
  page->setRecipe(QStringLiteral(STUDIO_TEST_DATA_DIR "/../../configs/ssd_mobilenetv2_lite_voc.yaml"));
  page->outputField()->setPath(dir_.filePath("ssd-run"));
  auto* document = window.document();
  const auto open = [&](const studio::DatasetSpec& spec) {
    QVERIFY(document->open(spec));
    QTRY_VERIFY_WITH_TIMEOUT(!document->isBusy(), 30000);
    QVERIFY2(document->hasDataset() && document->spec().has_value(), qPrintable(page->errorText()));
  };
  const auto trainData = [&] {
    const QStringList args = page->trainArguments(false);
    return args.value(args.indexOf("--train-data") + 1);
  };

  // TXT: the token, with the names file.
  studio::DatasetSpec txt;
  txt.format = studio::DatasetFormat::Txt;
  txt.annotations = list;
  txt.images = data.path().toStdString();
  txt.names = txtNames;
  open(txt);
  const QString txtToken =
      QStringLiteral("txt:%1:%2:%3")
          .arg(QString::fromStdString(list), QDir::cleanPath(data.path()), QString::fromStdString(txtNames));
  QCOMPARE(page->trainDataField()->text(), txtToken);
  QCOMPARE(trainData(), txtToken);
  QTRY_VERIFY(page->resolvedYaml().contains("train: " + txtToken));
  // Validation follows it too (the recipe's data.val is not on a fresh install), and the log says
  // what that measures.
  QCOMPARE(page->valDataField()->text(), txtToken);
  QTRY_VERIFY(page->resolvedYaml().contains("val: " + txtToken));
  QVERIFY(page->logPane()->toPlainText().contains("validation data: the open dataset"));
  const studio::DatasetSpec txtBack = studio::parse_dataset_token(txtToken.toStdString());
  QCOMPARE(QString::fromStdString(txtBack.names), QString::fromStdString(txtNames));

  // VOC with a names file: a dataset YAML.
  studio::DatasetSpec voc;
  voc.format = studio::DatasetFormat::Voc;
  voc.roots = {vocRoot.toStdString()};
  voc.split = "trainval";
  voc.names = vocNames;
  open(voc);
  const QString yaml = page->trainDataField()->text();
  QVERIFY2(yaml.startsWith(yamlFolder + "/") && yaml.endsWith(".yaml"), qPrintable(yaml));
  QVERIFY(QFileInfo(yaml).isFile());
  QCOMPARE(trainData(), yaml);
  QTRY_VERIFY2(page->resolvedYaml().contains("train: " + yaml), qPrintable(page->resolvedYaml()));
  QVERIFY(page->startButton()->isEnabled());
  QVERIFY(page->logPane()->toPlainText().contains(yaml));
  saveShot(window, "train_voc_names_yaml");
  const studio::DatasetSpec back = studio::parse_dataset_token(yaml.toStdString());
  QCOMPARE(int(back.format), int(studio::DatasetFormat::Voc));
  QCOMPARE(back.roots.size(), std::size_t(1));
  QCOMPARE(QString::fromStdString(back.roots[0]), QDir::cleanPath(vocRoot));
  QCOMPARE(QString::fromStdString(back.split), QStringLiteral("trainval"));
  QCOMPARE(QString::fromStdString(back.names), QString::fromStdString(vocNames));
  // Read as studio-cli reads it: the open dataset's classes, in the names file's order.
  const studio::Dataset fromYaml = studio::load_dataset(back);
  const studio::Dataset& opened = document->dataset();
  QCOMPARE(fromYaml.categories.size(), std::size_t(3));
  QCOMPARE(fromYaml.categories.size(), opened.categories.size());
  for (std::size_t k = 0; k < opened.categories.size(); ++k) {
    QCOMPARE(fromYaml.categories[k].id, opened.categories[k].id);
    QCOMPARE(QString::fromStdString(fromYaml.categories[k].name),
             QString::fromStdString(opened.categories[k].name));
  }
  QCOMPARE(QString::fromStdString(fromYaml.categories[0].name), QStringLiteral("dog"));
  QCOMPARE(fromYaml.annotations.size(), opened.annotations.size());
  // Opening it again reuses the same file.
  open(voc);
  QCOMPARE(page->trainDataField()->text(), yaml);
  QCOMPARE(QDir(yamlFolder).entryList({QStringLiteral("*.yaml")}, QDir::Files).size(), 1);

  // The same folder with the standard classes: voc:ROOT:SPLIT says it all.
  voc.names.clear();
  open(voc);
  QCOMPARE(page->trainDataField()->text(), QStringLiteral("voc:%1:trainval").arg(QDir::cleanPath(vocRoot)));

  QCOMPARE(page->valDataField()->text(), QStringLiteral("voc:%1:trainval").arg(QDir::cleanPath(vocRoot)));

  // A field the user typed in is left alone by the next dataset.
  page->trainDataField()->clear();
  QTest::keyClicks(page->trainDataField(), txtToken);
  page->valDataField()->clear();
  QTest::keyClicks(page->valDataField(), txtToken);
  open(txt);
  QCOMPARE(page->trainDataField()->text(), txtToken);
  open(voc);
  QCOMPARE(page->valDataField()->text(), txtToken);
  voc.names = vocNames;
  open(voc);
  QCOMPARE(page->trainDataField()->text(), txtToken);
  // Until "Open dataset" is pressed.
  QPushButton* useOpen = nullptr;
  for (QPushButton* button : page->findChildren<QPushButton*>())
    if (button->text() == QLatin1String("Open dataset")) useOpen = button;
  QVERIFY(useOpen);
  QTest::mouseClick(useOpen, Qt::LeftButton);
  QCOMPARE(page->trainDataField()->text(), yaml);
}

void TestGuiTrain::pageTrainsAndStops() {
  studio::ui::MainWindow window;
  TrainPage* page = makePage(window);
  QVERIFY(page);
  page->extraOverridesField()->setText("train.log_interval=1; data.workers=0; train.eval_interval=100");
  const QString runDir = dir_.filePath("live-run");
  page->outputField()->setPath(runDir);
  QSignalSpy finished(page, &TrainPage::processFinished);
  QTRY_VERIFY(page->startButton()->isEnabled());
  QTest::mouseClick(page->startButton(), Qt::LeftButton);
  QVERIFY2(page->isRunning(), qPrintable(page->errorText()));
  QVERIFY(page->stopButton()->isEnabled());
  const int run = page->currentPlotRun();
  QVERIFY(run >= 0);
  // Several logged iterations on the loss chart, drawn.
  QTRY_VERIFY2_WITH_TIMEOUT(page->plot()->pointCount(run, "loss") >= 3,
                            qPrintable(page->logPane()->toPlainText().right(1500)), 60000);
  page->plot()->redrawNow();
  QVERIFY(page->plot()->drawnPoints(TrainingPlot::Losses) >= 3);
  QVERIFY(page->plot()->pointCount(run, "lr") >= 3);
  QVERIFY(page->progressBar()->value() > 0);
  QVERIFY(page->progressBar()->maximum() == 50 * 4);  // 50 epochs of 4 iterations
  saveShot(window, "train_running");

  // Closing the window (File > Quit) while the run goes on asks first; "no" keeps both.
  int asked = 0;
  window.setCloseQuestion([&asked] {
    ++asked;
    return false;
  });
  auto* quit = window.findChild<QAction*>(QStringLiteral("quitAction"));
  QVERIFY(quit);
  QCOMPARE(quit->shortcut(), QKeySequence(QKeySequence::Quit));
  quit->trigger();
  QCOMPARE(asked, 1);
  QVERIFY(window.isVisible());
  QVERIFY(page->isRunning());

  QTest::mouseClick(page->stopButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(!page->isRunning(), 30000);
  QCOMPARE(finished.count(), 1);
  QVERIFY2(finished.first().at(1).toBool(), qPrintable(page->errorText() + page->logPane()->toPlainText().right(1500)));
  QVERIFY(QFileInfo::exists(runDir + "/checkpoints/last.pt"));
  QVERIFY(page->errorText().isEmpty());
  // The trainer's own record of the clean stop.
  RunFollower check;
  check.follow(runDir);
  QVERIFY(!check.events().isEmpty());
  QCOMPARE(check.events().back().type, QStringLiteral("end"));
  QCOMPARE(check.events().back().texts.value("status"), QStringLiteral("cancelled"));
  QTRY_VERIFY(page->resumeButton()->isEnabled());
  saveShot(window, "train_stopped");

  // A run made elsewhere (hand-written here) opened beside it: two runs in the charts.
  const QString other = dir_.filePath("other-run");
  QVERIFY(QDir().mkpath(other));
  QByteArray lines = R"({"type":"start","time":1,"epoch":0,"iter":0,"total_iters":8})"
                     "\n";
  for (int i = 1; i <= 8; ++i) lines += trainLine(i, 3.6 - 0.1 * i);
  lines += R"({"type":"eval_start","time":8.5,"epoch":2,"iter":8,"images":16})"
           "\n";
  writeFile(other + "/events.jsonl", lines);
  writeFile(other + "/log.txt", "[2024-01-01 00:00:00] finished\n");
  page->openRun(other);
  // While it evaluates, the page says so (no train events come meanwhile) and the bar is busy.
  QTRY_COMPARE(page->statusText(), QStringLiteral("Epoch 2: evaluating on 16 validation images…"));
  QCOMPARE(page->progressBar()->maximum(), 0);
  writeFile(other + "/events.jsonl",
            R"({"type":"eval","time":9,"epoch":2,"iter":8,"segm":{"AP":0.05},"bbox":{"AP":0.08}})"
            "\n",
            /*append=*/true);
  QTRY_COMPARE(page->statusText(), QStringLiteral("Epoch 2 evaluated: mask AP 0.0500, box AP 0.0800"));
  QCOMPARE(page->progressBar()->maximum(), 8);
  QCOMPARE(page->plot()->runIds().size(), 2);
  const int otherRun = page->plot()->runIds().back();
  QCOMPARE(page->plot()->runName(otherRun), QStringLiteral("other-run"));
  QCOMPARE(page->plot()->pointCount(otherRun, "loss"), 8);
  QCOMPARE(page->plot()->pointCount(otherRun, "segm.AP"), 1);
  QTRY_VERIFY(page->logPane()->toPlainText().contains("[other-run] [2024-01-01 00:00:00] finished"));
  page->plot()->redrawNow();
  saveShot(window, "train_compare");
  // With no run going, the window closes without asking.
  QVERIFY(window.close());
  QCOMPARE(asked, 1);
}

void TestGuiTrain::failedRunShowsItsError() {
  studio::ui::MainWindow window;
  TrainPage* page = makePage(window);
  QVERIFY(page);
  page->extraOverridesField()->setText("model.backbone.no_such_key=1");
  page->outputField()->setPath(dir_.filePath("failing-run"));
  QSignalSpy finished(page, &TrainPage::processFinished);
  QTRY_VERIFY(page->startButton()->isEnabled());
  QVERIFY(page->start());
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 30000);
  QVERIFY(!finished.first().at(1).toBool());
  QVERIFY2(page->errorText().contains("no_such_key"), qPrintable(page->errorText()));
  QVERIFY(page->logPane()->toPlainText().contains("no_such_key"));
  QVERIFY(!page->isRunning());
  QVERIFY(page->startButton()->isEnabled());
}

// Stop, then Resume: the same run folder goes on from last.pt with --resume and finishes. The
// run is stopped in the middle of 50 epochs; the epochs field is then set to end with the epoch
// it stopped in, so the resumed part is at most one epoch (4 iterations) and an evaluation.
void TestGuiTrain::resumeContinuesTheStoppedRun() {
  studio::ui::MainWindow window;
  TrainPage* page = makePage(window);
  QVERIFY(page);
  page->extraOverridesField()->setText("train.log_interval=1; data.workers=0; train.eval_interval=100");
  const QString runDir = dir_.filePath("resumed-run");
  page->outputField()->setPath(runDir);
  QSignalSpy finished(page, &TrainPage::processFinished);
  QTRY_VERIFY(page->startButton()->isEnabled());
  QVERIFY(!page->resumeButton()->isEnabled());  // nothing to resume yet
  QTest::mouseClick(page->startButton(), Qt::LeftButton);
  QVERIFY2(page->isRunning(), qPrintable(page->errorText()));
  // During the run the field names the folder being written, and can't be changed.
  QCOMPARE(QDir::cleanPath(page->outputField()->path()), QDir::cleanPath(runDir));
  QVERIFY(!page->outputField()->isEnabled());
  const int run = page->currentPlotRun();
  QTRY_VERIFY2_WITH_TIMEOUT(page->plot()->pointCount(run, "loss") >= 2,
                            qPrintable(page->logPane()->toPlainText().right(1500)), 60000);
  QTest::mouseClick(page->stopButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(!page->isRunning(), 30000);
  QCOMPARE(finished.count(), 1);
  QVERIFY2(finished.first().at(1).toBool(), qPrintable(page->errorText()));

  // Where the stop left it: the checkpoint event of the stop.
  RunFollower before;
  before.follow(runDir);
  const RunEvent* stopped = nullptr;
  for (const RunEvent& e : before.events())
    if (e.type == QLatin1String("checkpoint")) stopped = &e;
  QVERIFY(stopped);
  const qint64 stopIter = stopped->iter;
  const int stopEpoch = stopped->epoch;  // the epoch in progress, 0-based
  QVERIFY(stopIter >= 2);
  QVERIFY(stopIter < 50 * 4);

  // Start would begin a new folder (the field moved on to a fresh name); Resume takes the run's.
  QVERIFY(QDir::cleanPath(page->outputField()->path()) != QDir::cleanPath(runDir));
  QVERIFY(page->outputField()->isEnabled());
  page->epochsField()->setValue(stopEpoch + 1);
  QTRY_VERIFY(page->resumeButton()->isEnabled());
  QTest::mouseClick(page->resumeButton(), Qt::LeftButton);
  QVERIFY2(page->isRunning(), qPrintable(page->errorText()));
  QCOMPARE(page->currentRunDir(), QDir::cleanPath(runDir));
  const QString log = page->logPane()->toPlainText();
  const QString command = log.mid(log.lastIndexOf(QStringLiteral("\n$ ")));
  QVERIFY2(command.contains(" --resume") && command.contains("--out " + QDir::cleanPath(runDir)),
           qPrintable(command));
  // The run's own recipe, not the recipe box's.
  QVERIFY2(command.contains("--config " + QDir::cleanPath(runDir) + "/config.yaml"), qPrintable(command));
  QTRY_VERIFY_WITH_TIMEOUT(!page->isRunning(), 90000);
  QCOMPARE(finished.count(), 2);
  QVERIFY2(finished.last().at(1).toBool(),
           qPrintable(page->errorText() + page->logPane()->toPlainText().right(1500)));
  QVERIFY(page->errorText().isEmpty());
  saveShot(window, "train_resumed");

  // The run's record: cut back to the checkpoint, a resume event there, the iterations going on
  // from it to the end of the (new) last epoch, and a finished end.
  RunFollower after;
  after.follow(runDir);
  const QVector<RunEvent>& events = after.events();
  int resumeAt = -1;
  for (int i = 0; i < events.size(); ++i)
    if (events[i].type == QLatin1String("resume")) resumeAt = i;
  QVERIFY(resumeAt >= 0);
  QCOMPARE(events[resumeAt].iter, stopIter);
  QCOMPARE(events[resumeAt].epoch, stopEpoch);
  qint64 lastIter = stopIter;
  int trainedAfter = 0;
  for (int i = resumeAt + 1; i < events.size(); ++i) {
    if (events[i].type != QLatin1String("train")) continue;
    QVERIFY2(events[i].iter > lastIter,
             qPrintable(QStringLiteral("iteration %1 after %2").arg(events[i].iter).arg(lastIter)));
    lastIter = events[i].iter;
    ++trainedAfter;
  }
  QVERIFY(trainedAfter >= 1);
  QCOMPARE(lastIter, qint64(stopEpoch + 1) * 4);
  for (int i = 0; i < resumeAt; ++i) QVERIFY(events[i].iter <= stopIter);
  QCOMPARE(events.back().type, QStringLiteral("end"));
  QCOMPARE(events.back().texts.value("status"), QStringLiteral("finished"));
}

// studio-cli that is not there, not executable, or executable but unable to run (a script whose
// interpreter is missing): Start shows why, naming it, and the page is idle with Start enabled.
void TestGuiTrain::studioCliThatCannotStartLeavesThePageIdle_data() {
  studio::test::addUnstartableStudioCliRows();
}

void TestGuiTrain::studioCliThatCannotStartLeavesThePageIdle() {
  QFETCH(QString, name);
  QFETCH(QByteArray, content);
  QFETCH(bool, executable);
  const QString cli = studio::test::writeUnstartableStudioCli(dir_, name, content, executable);
  QVERIFY(!cli.isEmpty());
  const QByteArray real = qgetenv("STUDIO_CLI");
  qputenv("STUDIO_CLI", cli.toLocal8Bit());
  studio::ui::MainWindow window;
  TrainPage* page = makePage(window);
  QVERIFY(page);
  page->outputField()->setPath(dir_.filePath("never-" + name));
  QSignalSpy finished(page, &TrainPage::processFinished);
  QSignalSpy running(page, &TrainPage::runningChanged);
  QTRY_VERIFY(page->startButton()->isEnabled());
  QTest::mouseClick(page->startButton(), Qt::LeftButton);
  // Refused at once, or the process failed to start: either way it ends idle, with the error.
  QTRY_VERIFY_WITH_TIMEOUT(!page->isRunning() && !page->errorText().isEmpty(), 10000);
  qputenv("STUDIO_CLI", real);
  QVERIFY2(page->errorText().contains(cli), qPrintable(page->errorText()));
  QVERIFY(page->startButton()->isEnabled());
  QVERIFY(!page->stopButton()->isEnabled());
  QVERIFY(!page->resumeButton()->isEnabled());
  // What the page last said about running is "not running".
  if (!running.isEmpty()) QCOMPARE(running.last().at(0).toBool(), false);
  QVERIFY(finished.count() <= 1);
  if (!finished.isEmpty()) QCOMPARE(finished.first().at(1).toBool(), false);
  // The status line does not claim a run is starting.
  for (const QLabel* label : page->findChildren<QLabel*>())
    QVERIFY2(!label->text().startsWith(QLatin1String("Starting")), qPrintable(label->text()));
  QVERIFY(!QFileInfo::exists(dir_.filePath("never-" + name + "/events.jsonl")));
  if (QByteArray(QTest::currentDataTag()) == "bad interpreter") saveShot(window, "train_cli_cannot_start");
}

// A recipe that is not valid YAML, or has a value the form cannot read: the error names the
// file and the key, Start stays off and pressing it (start()) runs nothing.
void TestGuiTrain::badRecipeStartsNothing_data() {
  QTest::addColumn<QString>("name");
  QTest::addColumn<QByteArray>("content");
  QTest::addColumn<QString>("key");
  const QByteArray base = "base: " + QFileInfo(recipe_).absoluteFilePath().toUtf8() + "\n";
  QTest::newRow("broken YAML") << "broken.yaml" << QByteArray(base + "train:\n  epochs: [1, 2\n  lr: 3\n")
                               << QString();
  QTest::newRow("bad epochs") << "bad_epochs.yaml" << QByteArray(base + "train:\n  epochs: many\n")
                              << "train.epochs";
  QTest::newRow("bad input size") << "bad_input.yaml"
                                  << QByteArray(base + "data:\n  input:\n    short_side: [big]\n")
                                  << "data.input.short_side";
}

void TestGuiTrain::badRecipeStartsNothing() {
  QFETCH(QString, name);
  QFETCH(QByteArray, content);
  QFETCH(QString, key);
  const QString path = dir_.filePath(name);
  writeFile(path, content);
  studio::ui::MainWindow window;
  TrainPage* page = makePage(window);
  QVERIFY(page);
  const QString runDir = dir_.filePath("bad-recipe-run");
  page->outputField()->setPath(runDir);
  page->setRecipe(path);
  QCOMPARE(page->recipe(), QFileInfo(path).absoluteFilePath());
  QTRY_VERIFY(!page->startButton()->isEnabled());
  QSignalSpy running(page, &TrainPage::runningChanged);
  QVERIFY(!page->start());
  const QString error = page->errorText();
  QVERIFY2(error.contains(name) && error.contains(key), qPrintable(error));
  QVERIFY(!page->isRunning());
  QCOMPARE(running.count(), 0);
  QVERIFY2(!page->logPane()->toPlainText().contains(QLatin1String("$ ")),
           qPrintable(page->logPane()->toPlainText()));
  QVERIFY(!QFileInfo::exists(runDir));
  // The form does not pass neutral values off as the recipe's: greyed until it reads.
  if (!key.isEmpty()) QVERIFY(!page->epochsField()->isEnabled());
  if (QByteArray(QTest::currentDataTag()) == "bad epochs") saveShot(window, "train_bad_recipe");
}

QTEST_MAIN(TestGuiTrain)
// A 1024-pixel-wide screen: the window fits, and no button or field of the Train page is squeezed
// below the size it needs or drawn over another.
void TestGuiTrain::fitsAt1024PixelsWide() {
  studio::ui::MainWindow window;
  TrainPage* page = makePage(window);
  QVERIFY(page);
  window.resize(1024, 700);
  QTRY_COMPARE(window.width(), 1024);
  QTest::qWait(50);
  QVERIFY2(window.minimumSizeHint().width() <= 1024, qPrintable(QString::number(window.minimumSizeHint().width())));
  QList<QWidget*> controls;
  for (QAbstractButton* b : page->findChildren<QAbstractButton*>())
    if (b->isVisibleTo(page) && qobject_cast<QPushButton*>(b)) controls << b;
  for (QWidget* w : controls) {
    QVERIFY2(w->width() >= w->minimumSizeHint().width(),
             qPrintable(QStringLiteral("%1: %2 < %3")
                            .arg(static_cast<QAbstractButton*>(w)->text())
                            .arg(w->width())
                            .arg(w->minimumSizeHint().width())));
    const QRect a(w->mapTo(page, QPoint(0, 0)), w->size());
    for (QWidget* other : controls) {
      if (other == w || other->isAncestorOf(w) || w->isAncestorOf(other)) continue;
      const QRect b(other->mapTo(page, QPoint(0, 0)), other->size());
      QVERIFY2(!a.intersects(b), qPrintable(static_cast<QAbstractButton*>(w)->text() + " overlaps " +
                                            static_cast<QAbstractButton*>(other)->text()));
    }
  }
  saveShot(window, "train_1024");
}

#include "test_gui_train.moc"
