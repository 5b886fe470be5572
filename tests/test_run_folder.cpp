// The run folder's names (common/run_folder.h), spelled out by hand as DESIGN.md gives them, and
// its helpers: metrics_<k>.json names and the newest metrics file of a folder.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>
#include <string>

#include "common/run_folder.h"

using namespace studio;

namespace {

void touch(const QString& path) {
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write("{}");
}

}  // namespace

class TestRunFolder : public QObject {
  Q_OBJECT

 private slots:
  void paths() {
    const RunFolder run{"runs/a"};
    QCOMPARE(run.config(), std::string("runs/a/config.yaml"));
    QCOMPARE(run.events(), std::string("runs/a/events.jsonl"));
    QCOMPARE(run.discarded_events(), std::string("runs/a/events.discarded.jsonl"));
    QCOMPARE(run.log(), std::string("runs/a/log.txt"));
    QCOMPARE(run.checkpoints_dir(), std::string("runs/a/checkpoints"));
    QCOMPARE(run.last_checkpoint(), std::string("runs/a/checkpoints/last.pt"));
    QCOMPARE(run.epoch_checkpoint(3), std::string("runs/a/checkpoints/epoch_3.pt"));
    QCOMPARE(run.epoch_checkpoint(12), std::string("runs/a/checkpoints/epoch_12.pt"));
    QCOMPARE(run.best_checkpoint(), std::string("runs/a/checkpoints/best.pt"));
    QCOMPARE(run.eval_dir(), std::string("runs/a/eval"));
    QCOMPARE(run.results(4), std::string("runs/a/eval/results_4.json"));
    QCOMPARE(run.metrics(4), std::string("runs/a/eval/metrics_4.json"));
    QCOMPARE(run.inspect_dir(), std::string("runs/a/inspect"));
  }

  // A folder typed with a trailing slash joins as std::filesystem::path does.
  void trailingSlash() {
    const RunFolder run{"/tmp/runs/b/"};
    QCOMPARE(run.events(), std::string("/tmp/runs/b/events.jsonl"));
    QCOMPARE(run.metrics(1), std::string("/tmp/runs/b/eval/metrics_1.json"));
  }

  void eventNames() {
    QCOMPARE(std::string(event_field::kType), std::string("type"));
    QCOMPARE(std::string(event_field::kTime), std::string("time"));
    QCOMPARE(std::string(event_field::kEpoch), std::string("epoch"));
    QCOMPARE(std::string(event_field::kIter), std::string("iter"));
    QCOMPARE(std::string(event_type::kStart), std::string("start"));
    QCOMPARE(std::string(event_type::kTrain), std::string("train"));
    QCOMPARE(std::string(event_type::kEval), std::string("eval"));
    QCOMPARE(std::string(event_type::kEvalStart), std::string("eval_start"));
    QCOMPARE(std::string(event_type::kCheckpoint), std::string("checkpoint"));
    QCOMPARE(std::string(event_type::kResume), std::string("resume"));
    QCOMPARE(std::string(event_type::kError), std::string("error"));
    QCOMPARE(std::string(event_type::kEnd), std::string("end"));
  }

  void metricsEpoch_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<long>("k");
    QTest::newRow("k=0") << "metrics_0.json" << 0L;
    QTest::newRow("k=12") << "metrics_12.json" << 12L;
    QTest::newRow("leading zero") << "metrics_007.json" << 7L;
    QTest::newRow("15 digits") << "metrics_123456789012345.json" << 123456789012345L;
    QTest::newRow("16 digits") << "metrics_1234567890123456.json" << -1L;
    QTest::newRow("no digits") << "metrics_.json" << -1L;
    QTest::newRow("not digits") << "metrics_best.json" << -1L;
    QTest::newRow("sign") << "metrics_-1.json" << -1L;
    QTest::newRow("results") << "results_3.json" << -1L;
    QTest::newRow("other extension") << "metrics_3.yaml" << -1L;
    QTest::newRow("two extensions") << "metrics_3.json.tmp" << -1L;
    QTest::newRow("empty") << "" << -1L;
  }
  void metricsEpoch() {
    QFETCH(QString, name);
    QFETCH(long, k);
    QCOMPARE(metrics_epoch(name.toStdString()), k);
  }

  // The highest k as a number (10 after 9), other files ignored; "" without eval/ or metrics.
  void latestMetrics() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const RunFolder run{tmp.path().toStdString()};
    QCOMPARE(run.latest_metrics(), std::string());
    QVERIFY(QDir().mkpath(QString::fromStdString(run.eval_dir())));
    QCOMPARE(run.latest_metrics(), std::string());
    touch(QString::fromStdString(run.results(20)));
    touch(QString::fromStdString(run.eval_dir() + "/metrics_x.json"));
    QCOMPARE(run.latest_metrics(), std::string());
    touch(QString::fromStdString(run.metrics(9)));
    touch(QString::fromStdString(run.metrics(10)));
    touch(QString::fromStdString(run.metrics(2)));
    QCOMPARE(run.latest_metrics(), run.metrics(10));
  }
};

QTEST_APPLESS_MAIN(TestRunFolder)
#include "test_run_folder.moc"
