// The Train page and what it is built on, on the offscreen platform:
// - RunFollower on a hand-written events.jsonl that grows (a partial last line waits for its
//   end), is rewritten shorter on --resume (read again from the start) and is rewritten so that
//   only unread lines changed (reading goes on);
// - TrainingPlot's series, EMA smoothing by hand and saving as PNG, PDF and SVG;
// - the page end to end: a short shapes run started from the form through studio-cli, points on
//   the loss chart, Stop ends the process cleanly with last.pt written, and a run that fails
//   (an unknown recipe key) shows the trainer's message while the studio goes on; Resume
//   continues a stopped run's folder to its end;
// - what starts nothing: a studio-cli that cannot start, a recipe that does not read.
// studio-cli's path comes from CMake (STUDIO_CLI_PATH) unless STUDIO_CLI is set.
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
#include <qcustomplot.h>

#include "data/shapes_generator.h"
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

namespace {

// With STUDIO_GUI_TEST_SHOTS=DIR set, the page is saved at the interesting steps, to look at.
void saveShot(QWidget& widget, const char* name) {
  const QByteArray dir = qgetenv("STUDIO_GUI_TEST_SHOTS");
  if (!dir.isEmpty()) widget.grab().save(QString::fromLocal8Bit(dir) + "/" + name + ".png");
}

QByteArray trainLine(int iter, double loss) {
  return QStringLiteral(R"({"type":"train","time":1.5,"epoch":1,"iter":%1,"loss_ins":%2,"loss_cate":0.5,)"
                        R"("loss":%3,"lr":0.001,"images_per_s":10.0,"data_time":0.01,"step_time":0.2})")
             .arg(iter)
             .arg(loss - 0.5)
             .arg(loss)
             .toUtf8() +
         "\n";
}

void writeFile(const QString& path, const QByteArray& content, bool append = false) {
  QFile f(path);
  QVERIFY(f.open(append ? QIODevice::Append : QIODevice::WriteOnly | QIODevice::Truncate));
  QCOMPARE(f.write(content), qint64(content.size()));
}

QVector<qint64> iters(const RunFollower& f) {
  QVector<qint64> out;
  for (const RunEvent& e : f.events()) out << e.iter;
  return out;
}

}  // namespace

class TestGuiTrain : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void parsesEventLines();
  void followerReadsOnlyCompleteNewLines();
  void followerReadsAgainAfterResumeRewrite();
  void followerWaitsForTheRunFolder();
  void plotSmoothsAndSaves();
  void pageBuildsTheCommand();
  void pageOffersTheMaskRcnnRecipes();
  void pageTrainsAndStops();
  void failedRunShowsItsError();
  void resumeContinuesTheStoppedRun();
  void studioCliThatCannotStartLeavesThePageIdle_data();
  void studioCliThatCannotStartLeavesThePageIdle();
  void badRecipeStartsNothing_data();
  void badRecipeStartsNothing();

 private:
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

void TestGuiTrain::parsesEventLines() {
  RunEvent e;
  QVERIFY(studio::ui::parseRunEvent(
      R"({"type":"eval","time":2.0,"epoch":3,"iter":120,"segm":{"AP":0.25,"AP50":null},"bbox":{"AP":0.5},"note":"x","flag":true})",
      e));
  QCOMPARE(e.type, QStringLiteral("eval"));
  QCOMPARE(e.epoch, 3);
  QCOMPARE(e.iter, qint64(120));
  QCOMPARE(e.groups.value("segm").value("AP"), 0.25);
  QVERIFY(std::isnan(e.groups.value("segm").value("AP50")));
  QCOMPARE(e.groups.value("bbox").value("AP"), 0.5);
  QCOMPARE(e.texts.value("note"), QStringLiteral("x"));
  QCOMPARE(e.texts.value("flag"), QStringLiteral("true"));
  QVERIFY(!studio::ui::parseRunEvent(R"({"time":1})", e));  // no type
  QVERIFY(!studio::ui::parseRunEvent(R"({"type":"train",)", e));
  QVERIFY(!studio::ui::parseRunEvent(R"([1,2])", e));
}

void TestGuiTrain::followerReadsOnlyCompleteNewLines() {
  QTemporaryDir run;
  const QString events = run.filePath("events.jsonl");
  const QByteArray third = trainLine(3, 1.5);
  writeFile(events, R"({"type":"start","time":1,"epoch":0,"iter":0,"total_iters":40})"
                    "\n" +
                        trainLine(1, 2.5) + third.left(20));  // the writer is half-way through line 3
  RunFollower follower;
  QSignalSpy read(&follower, &RunFollower::eventRead);
  follower.follow(run.path());
  QCOMPARE(iters(follower), (QVector<qint64>{0, 1}));
  QCOMPARE(follower.events()[0].number("total_iters", 0), 40.0);
  QCOMPARE(follower.events()[1].number("loss", 0), 2.5);
  QCOMPARE(follower.events()[1].number("loss_ins", 0), 2.0);

  follower.poll();  // nothing new: nothing emitted again
  QCOMPARE(read.count(), 2);
  writeFile(events, third.mid(20) + "not json\n" + trainLine(4, 1.25), true);
  follower.poll();
  QCOMPARE(iters(follower), (QVector<qint64>{0, 1, 3, 4}));
  QCOMPARE(follower.events()[2].number("loss", 0), 1.5);
  QCOMPARE(follower.badLines(), 1);
  QCOMPARE(read.count(), 4);
  QCOMPARE(follower.restarts(), 0);
}

void TestGuiTrain::followerReadsAgainAfterResumeRewrite() {
  QTemporaryDir run;
  const QString events = run.filePath("events.jsonl");
  writeFile(events, trainLine(1, 3) + trainLine(2, 2.75) + trainLine(3, 2.5) + trainLine(4, 2.25));
  RunFollower follower;
  QSignalSpy restarted(&follower, &RunFollower::restarted);
  follower.follow(run.path());
  QCOMPARE(iters(follower), (QVector<qint64>{1, 2, 3, 4}));

  // --resume from a checkpoint at iteration 2: 3 and 4 move out, a resume event follows. The
  // file is shorter than what was read: everything is read again.
  writeFile(events, trainLine(1, 3) + trainLine(2, 2.75) +
                        R"({"type":"resume","time":5,"epoch":1,"iter":2})"
                        "\n");
  follower.poll();
  QCOMPARE(restarted.count(), 1);
  QCOMPARE(iters(follower), (QVector<qint64>{1, 2, 2}));
  QCOMPARE(follower.events().back().type, QStringLiteral("resume"));

  // Another resume from iteration 1 that already grew past the old length before the poll: the
  // line last read (the resume event) is no longer where it was, so again from the start.
  writeFile(events, trainLine(1, 3) +
                        R"({"type":"resume","time":9,"epoch":1,"iter":1,"world_size":2,"padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxx"})"
                        "\n" +
                        trainLine(2, 2.7) + trainLine(3, 2.6));
  follower.poll();
  QCOMPARE(restarted.count(), 2);
  QCOMPARE(iters(follower), (QVector<qint64>{1, 1, 2, 3}));
  QCOMPARE(follower.events()[2].number("loss", 0), 2.7);

  // A rewrite that keeps every line read (only unread lines were dropped) is just more lines.
  const QByteArray kept = trainLine(1, 3) +
                          R"({"type":"resume","time":9,"epoch":1,"iter":1,"world_size":2,"padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxx"})"
                          "\n" +
                          trainLine(2, 2.7) + trainLine(3, 2.6);
  writeFile(events, kept + trainLine(4, 2.5));
  follower.poll();
  QCOMPARE(restarted.count(), 2);
  QCOMPARE(iters(follower), (QVector<qint64>{1, 1, 2, 3, 4}));
}

void TestGuiTrain::followerWaitsForTheRunFolder() {
  QTemporaryDir parent;
  const QString runDir = parent.filePath("later");
  RunFollower follower;
  follower.setPollInterval(50);
  follower.follow(runDir, true);
  QVERIFY(follower.events().isEmpty());
  QSignalSpy logs(&follower, &RunFollower::logLines);
  QVERIFY(QDir().mkpath(runDir));
  writeFile(runDir + "/events.jsonl", trainLine(7, 1.0));
  writeFile(runDir + "/log.txt", "[2024-01-01 00:00:00] start\n");
  QTRY_COMPARE_WITH_TIMEOUT(follower.events().size(), 1, 5000);
  QCOMPARE(follower.events()[0].iter, qint64(7));
  QTRY_VERIFY_WITH_TIMEOUT(!logs.isEmpty(), 5000);
  QCOMPARE(logs.first().first().toStringList(), QStringList{"[2024-01-01 00:00:00] start"});
}

void TestGuiTrain::plotSmoothsAndSaves() {
  TrainingPlot plot;
  plot.resize(900, 600);
  const int a = plot.addRun("a");
  RunEvent e;
  QVERIFY(studio::ui::parseRunEvent(trainLine(1, 4.5).trimmed(), e));
  plot.addEvent(a, e);
  QVERIFY(studio::ui::parseRunEvent(trainLine(2, 2.5).trimmed(), e));
  plot.addEvent(a, e);
  QVERIFY(studio::ui::parseRunEvent(R"({"type":"eval","epoch":1,"iter":2,"segm":{"AP":0.2},"bbox":{"AP":0.3}})", e));
  plot.addEvent(a, e);
  QVERIFY(studio::ui::parseRunEvent(R"({"type":"checkpoint","epoch":1,"iter":2,"loss":9})", e));
  plot.addEvent(a, e);  // not a train event: not drawn
  QCOMPARE(plot.pointCount(a, "loss"), 2);
  QCOMPARE(plot.pointCount(a, "loss_cate"), 2);
  QCOMPARE(plot.pointCount(a, "segm.AP"), 1);
  QCOMPARE(plot.pointCount(a, "gpu_mem_mb"), 0);

  // No smoothing: loss, loss_cate, loss_ins, 2 points each.
  plot.show();
  QVERIFY(QTest::qWaitForWindowExposed(&plot));
  plot.setSmoothing(0);
  plot.redrawNow();
  QCustomPlot* losses = plot.chart(TrainingPlot::Losses);
  QCOMPARE(losses->graphCount(), 3);
  QCOMPARE(losses->graph(0)->name(), QStringLiteral("loss"));
  QCOMPARE(losses->graph(0)->data()->at(1)->value, 2.5);

  // Hovering next to the total loss at iteration 2 shows its value; moving away hides it.
  losses->replot();
  auto hover = [losses](QPointF at) {
    QMouseEvent move(QEvent::MouseMove, at, losses->mapToGlobal(at), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
    QCoreApplication::sendEvent(losses, &move);
  };
  hover(QPointF(losses->xAxis->coordToPixel(2) - 3, losses->yAxis->coordToPixel(2.5) + 2));
  QCOMPARE(plot.hoverText(TrainingPlot::Losses), QStringLiteral("loss\niteration 2: 2.5"));
  hover(QPointF(2, 2));
  QVERIFY(plot.hoverText(TrainingPlot::Losses).isEmpty());
  QCOMPARE(plot.drawnPoints(TrainingPlot::Evaluation), 2);  // segm and bbox, one epoch

  // EMA 0.5 with the start-up bias removed: 4.5, then (0.5*2.25 + 0.5*2.5) / (1 - 0.25) = 2.5 ... by hand:
  // last1 = 0.5*4.5 = 2.25 -> 2.25/0.5 = 4.5; last2 = 0.5*2.25 + 0.5*2.5 = 2.375 -> 2.375/0.75.
  plot.setSmoothing(0.5);
  plot.redrawNow();
  QCOMPARE(losses->graphCount(), 6);  // a faint raw curve behind each smoothed one
  QCPGraph* smoothedLoss = losses->graph(1);
  QCOMPARE(smoothedLoss->name(), QStringLiteral("loss"));
  QCOMPARE(smoothedLoss->data()->at(0)->value, 4.5);
  QVERIFY(qAbs(smoothedLoss->data()->at(1)->value - 2.375 / 0.75) < 1e-12);

  plot.setLogScale(true);
  QCOMPARE(losses->yAxis->scaleType(), QCPAxis::stLogarithmic);
  const int b = plot.addRun("b");
  plot.addEvent(b, e);
  plot.redrawNow();
  QCOMPARE(plot.runIds(), (QVector<int>{a, b}));

  QTemporaryDir out;
  QVERIFY(plot.save(out.filePath("charts.png")));
  QVERIFY(plot.save(out.filePath("charts.pdf")));
  QImage image(out.filePath("charts.png"));
  QCOMPARE(image.size(), QSize(1280, 1080));  // 2 columns x 3 rows of 640 x 360 (no GPU memory chart)
  QFile pdf(out.filePath("charts.pdf"));
  QVERIFY(pdf.open(QIODevice::ReadOnly));
  QVERIFY(pdf.read(5) == "%PDF-");
  // SVG: a vector file whose drawing names the series it holds.
  QVERIFY(plot.save(out.filePath("charts.svg")));
  QFile svg(out.filePath("charts.svg"));
  QVERIFY(svg.open(QIODevice::ReadOnly));
  const QByteArray svgText = svg.readAll();
  QVERIFY(svgText.contains("<svg"));
  QVERIFY(svgText.contains("viewBox=\"0 0 1280 1080\""));
  QVERIFY(svgText.contains("<path") || svgText.contains("<polyline"));
}

TrainPage* TestGuiTrain::makePage(studio::ui::MainWindow& window) {
  window.resize(1400, 900);
  window.show();
  if (!QTest::qWaitForWindowExposed(&window)) return nullptr;
  window.showStage(studio::ui::MainWindow::TrainStage);
  auto* page = window.findChild<TrainPage*>();
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
  window.resize(1400, 900);
  window.show();
  QVERIFY(QTest::qWaitForWindowExposed(&window));
  window.showStage(studio::ui::MainWindow::TrainStage);
  auto* page = window.findChild<TrainPage*>();
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
  lines += R"({"type":"eval","time":9,"epoch":2,"iter":8,"segm":{"AP":0.05},"bbox":{"AP":0.08}})"
           "\n";
  writeFile(other + "/events.jsonl", lines);
  writeFile(other + "/log.txt", "[2024-01-01 00:00:00] finished\n");
  page->openRun(other);
  QCOMPARE(page->plot()->runIds().size(), 2);
  const int otherRun = page->plot()->runIds().back();
  QCOMPARE(page->plot()->runName(otherRun), QStringLiteral("other-run"));
  QCOMPARE(page->plot()->pointCount(otherRun, "loss"), 8);
  QCOMPARE(page->plot()->pointCount(otherRun, "segm.AP"), 1);
  QTRY_VERIFY(page->logPane()->toPlainText().contains("[other-run] [2024-01-01 00:00:00] finished"));
  page->plot()->redrawNow();
  saveShot(window, "train_compare");
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
  page->epochsField()->setValue(stopEpoch + 1);
  QTRY_VERIFY(page->resumeButton()->isEnabled());
  QTest::mouseClick(page->resumeButton(), Qt::LeftButton);
  QVERIFY2(page->isRunning(), qPrintable(page->errorText()));
  QCOMPARE(page->currentRunDir(), QDir::cleanPath(runDir));
  const QString log = page->logPane()->toPlainText();
  const QString command = log.mid(log.lastIndexOf(QStringLiteral("\n$ ")));
  QVERIFY2(command.contains(" --resume") && command.contains("--out " + QDir::cleanPath(runDir)),
           qPrintable(command));
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
  if (QByteArray(QTest::currentDataTag()) == "bad epochs") saveShot(window, "train_bad_recipe");
}

QTEST_MAIN(TestGuiTrain)
#include "test_gui_train.moc"
