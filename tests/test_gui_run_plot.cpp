// What the Train page is built on, on the offscreen platform:
// - RunFollower on a hand-written events.jsonl that grows (a partial last line waits for its
//   end), is rewritten shorter on --resume (read again from the start) and is rewritten so that
//   only unread lines changed (reading goes on);
// - TrainingPlot's series (COCO AP and VOC mAP evaluations), EMA smoothing by hand and saving as
//   PNG, PDF and SVG.
#include <qcustomplot.h>

#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "gui_test_support.h"
#include "run_follower.h"
#include "training_plot.h"

using studio::test::trainLine;
using studio::test::writeFile;
using studio::ui::RunEvent;
using studio::ui::RunFollower;
using studio::ui::TrainingPlot;

namespace {

QVector<qint64> iters(const RunFollower& f) {
  QVector<qint64> out;
  for (const RunEvent& e : f.events()) out << e.iter;
  return out;
}

}  // namespace

class TestGuiRunPlot : public QObject {
  Q_OBJECT

 private slots:
  void parsesEventLines();
  void followerReadsOnlyCompleteNewLines();
  void followerReadsAgainAfterResumeRewrite();
  void followerWaitsForTheRunFolder();
  void plotSmoothsAndSaves();
  void plotChartsVocMap();
};

void TestGuiRunPlot::parsesEventLines() {
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

void TestGuiRunPlot::followerReadsOnlyCompleteNewLines() {
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

void TestGuiRunPlot::followerReadsAgainAfterResumeRewrite() {
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

void TestGuiRunPlot::followerWaitsForTheRunFolder() {
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

void TestGuiRunPlot::plotSmoothsAndSaves() {
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


// A VOC evaluation ({"voc": {"mAP": ..}}, the SSD recipes) is charted as voc.mAP on the
// Evaluation chart, beside COCO's segm.AP and bbox.AP of another run.
void TestGuiRunPlot::plotChartsVocMap() {
  TrainingPlot plot;
  plot.resize(900, 600);
  const int ssd = plot.addRun("ssd");
  const int solo = plot.addRun("solo");
  RunEvent e;
  for (const auto& [epoch, map] : {std::pair{2, 0.4957}, std::pair{4, 0.7317}}) {
    QVERIFY(studio::ui::parseRunEvent(
        QStringLiteral(R"({"type":"eval","epoch":%1,"iter":%2,"voc":{"mAP":%3}})").arg(epoch).arg(epoch * 157).arg(map).toUtf8(),
        e));
    plot.addEvent(ssd, e);
  }
  QVERIFY(studio::ui::parseRunEvent(R"({"type":"eval","epoch":1,"iter":2,"segm":{"AP":0.2},"bbox":{"AP":0.3}})", e));
  plot.addEvent(solo, e);
  QCOMPARE(plot.pointCount(ssd, "voc.mAP"), 2);
  QCOMPARE(plot.pointCount(ssd, "bbox.AP"), 0);
  QCOMPARE(plot.pointCount(solo, "voc.mAP"), 0);
  plot.show();
  QVERIFY(QTest::qWaitForWindowExposed(&plot));
  plot.setSmoothing(0);
  plot.redrawNow();
  QCOMPARE(plot.drawnPoints(TrainingPlot::Evaluation), 4);  // the SSD run's 2 mAP points, segm and bbox
  QCustomPlot* chart = plot.chart(TrainingPlot::Evaluation);
  bool found = false;
  for (int g = 0; g < chart->graphCount(); ++g)
    if (chart->graph(g)->name().contains(QLatin1String("voc.mAP"))) {
      found = true;
      QCOMPARE(chart->graph(g)->data()->size(), 2);
      QCOMPARE(chart->graph(g)->data()->at(1)->value, 0.7317);
    }
  QVERIFY(found);
}

QTEST_MAIN(TestGuiRunPlot)
#include "test_gui_run_plot.moc"
