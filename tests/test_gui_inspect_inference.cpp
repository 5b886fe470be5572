// The Inspect page on the offscreen platform, predictions from a checkpoint: a stand-in
// studio-cli (a shell script that writes the fixture's results, tests/gui_inspect_fixture.h) runs
// the inference, to check the process, its arguments, its progress, cancelling and the cache; a
// failing studio-cli and one that cannot start end in an error on an idle page. A VOC folder read
// with a names file goes to studio-cli as a dataset YAML that names it. Viewing and matching:
// tests/test_gui_inspect.cpp.
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "data/dataset_spec.h"
#include "gui_inspect_fixture.h"
#include "gui_test_support.h"
#include "inspect_page.h"
#include "studio_cli.h"
#include "test_support.h"

using studio::ui::InspectPage;

class TestGuiInspectInference : public QObject, protected studio::test::InspectFixture {
  Q_OBJECT

 private slots:
  void initTestCase();
  void checkpointRunsInferenceOnceThenCaches();
  void failingInferenceIsReported();
  void cancelInference();
  void vocWithNamesFileGoesAsADatasetYaml();
  void studioCliThatCannotStartIsReported_data();
  void studioCliThatCannotStartIsReported();

 private:
  void writeFakeCli(const QString& path, int exitCode);
  // A run folder `run` with checkpoints/best.pt (not a real checkpoint: the stand-in studio-cli
  // never reads it) and a config.yaml; returns best.pt's path, empty when the folder can't be made.
  QString makeRunWithCheckpoint(const QString& run);
};

void TestGuiInspectInference::initTestCase() { initFixture(); }

void TestGuiInspectInference::writeFakeCli(const QString& path, int exitCode) {
  // Records each call, reports progress as studio-cli does off a terminal, writes --out.
  const QString script =
      QStringLiteral(
          "#!/bin/sh\n"
          "echo call >> '%1'\n"
          "echo \"$@\" > '%2'\n"
          "out=''\n"
          "while [ $# -gt 0 ]; do if [ \"$1\" = --out ]; then out=$2; fi; shift; done\n"
          "echo 'inference: 3/6' >&2\n"
          "echo 'inference: 6/6' >&2\n"
          "if [ %3 -ne 0 ]; then echo 'error: recipe.yaml: model.type: unknown' >&2; exit %3; fi\n"
          "cp '%4' \"$out\"\n")
          .arg(dir_.filePath("calls.txt"), dir_.filePath("args.txt"))
          .arg(exitCode)
          .arg(resultsPath_);
  QFile file(path);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write(script.toUtf8());
  file.close();
  QVERIFY(file.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
}

QString TestGuiInspectInference::makeRunWithCheckpoint(const QString& run) {
  if (!QDir(dir_.path()).mkpath(run + "/checkpoints")) return {};
  studio::test::write_text(dir_, (run + "/checkpoints/best.pt").toStdString(), "x");
  studio::test::write_text(dir_, (run + "/config.yaml").toStdString(), "model: {}\n");
  return dir_.filePath(run + "/checkpoints/best.pt");
}

void TestGuiInspectInference::checkpointRunsInferenceOnceThenCaches() {
  const QString cli = dir_.filePath("fake-studio-cli");
  writeFakeCli(cli, 0);
  qputenv("STUDIO_CLI", cli.toLocal8Bit());
  QVERIFY(QDir(dir_.path()).mkpath("run/checkpoints"));
  const QString checkpoint = dir_.filePath("run/checkpoints/last.pt");
  studio::test::write_text(dir_, "run/checkpoints/last.pt", "not a real checkpoint");
  studio::test::write_text(dir_, "run/config.yaml", "model: {}\n");

  InspectPage page(document_.get());
  page.resize(1280, 760);
  page.show();
  QCOMPARE(studio::ui::findStudioCli(), cli);
  page.setCheckpointPath(checkpoint);
  // The run's recipe is found beside the checkpoints folder.
  QCOMPARE(QFileInfo(page.recipePath()).canonicalFilePath(),
           QFileInfo(dir_.filePath("run/config.yaml")).canonicalFilePath());
  // The run's other checkpoints are offered beside the field.
  studio::test::write_text(dir_, "run/checkpoints/epoch_1.pt", "older");
  page.setCheckpointPath(dir_.filePath("run/checkpoints/epoch_1.pt"));
  QCOMPARE(page.runCheckpoints()->count(), 2);
  QCOMPARE(page.runCheckpoints()->currentText(), QStringLiteral("epoch_1.pt"));
  page.runCheckpoints()->setCurrentIndex(page.runCheckpoints()->findText("last.pt"));
  emit page.runCheckpoints()->activated(page.runCheckpoints()->currentIndex());
  QVERIFY(page.cachedResultsPath().contains("last-"));
  const QString cached = page.cachedResultsPath();
  QVERIFY2(cached.startsWith(QDir(dir_.filePath("run/inspect")).absolutePath()), qPrintable(cached));
  QVERIFY(!QFileInfo::exists(cached));

  QSignalSpy inferred(&page, &InspectPage::inferenceFinished);
  QSignalSpy loaded(&page, &InspectPage::predictionsLoaded);
  QVERIFY(page.loadButton()->isEnabled());
  page.load();
  QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeoutMs);
  QCOMPARE(inferred.count(), 1);
  QCOMPARE(inferred.at(0).at(0).toBool(), true);
  QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
  QVERIFY(QFileInfo::exists(cached));
  QVERIFY(!QFileInfo::exists(cached + ".part"));
  // The open dataset has no command-line name: it went as COCO JSON beside the predictions.
  const QStringList args = page.lastInferenceArguments();
  QCOMPARE(args.value(0), QStringLiteral("infer"));
  QCOMPARE(args.value(args.indexOf("--weights") + 1), checkpoint);
  QVERIFY(QFileInfo(args.value(args.indexOf("--coco") + 1)).isFile());
  QCOMPARE(args.value(args.indexOf("--images") + 1), QString::fromStdString(gt_.image_root));
  QCOMPARE(page.totals().falsePositives, 3);  // the same results as the file tests
  page.setSortOrder(InspectPage::SortOrder::LowestQuality);
  saveShot(page, "inspect_checkpoint");

  // Second time: from the cache, no process.
  page.load();
  QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 2, kTimeoutMs);
  QCOMPARE(inferred.count(), 1);
  QFile calls(dir_.filePath("calls.txt"));
  QVERIFY(calls.open(QIODevice::ReadOnly));
  QCOMPARE(calls.readAll().count('\n'), 1);
  calls.close();

  // A newer checkpoint under the same name is predicted again.
  QFile ckpt(checkpoint);
  QVERIFY(ckpt.open(QIODevice::ReadWrite));
  QVERIFY(ckpt.setFileTime(QDateTime::currentDateTime().addSecs(60), QFileDevice::FileModificationTime));
  ckpt.close();
  QVERIFY(page.cachedResultsPath() != cached);
  page.load();
  QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 3, kTimeoutMs);
  QCOMPARE(inferred.count(), 2);
  qunsetenv("STUDIO_CLI");
}

void TestGuiInspectInference::failingInferenceIsReported() {
  const QString cli = dir_.filePath("failing-studio-cli");
  writeFakeCli(cli, 3);
  qputenv("STUDIO_CLI", cli.toLocal8Bit());
  const QString checkpoint = makeRunWithCheckpoint("run2");
  QVERIFY(!checkpoint.isEmpty());
  InspectPage page(document_.get());
  page.setCheckpointPath(checkpoint);
  QSignalSpy inferred(&page, &InspectPage::inferenceFinished);
  page.load();
  QTRY_COMPARE_WITH_TIMEOUT(inferred.count(), 1, kTimeoutMs);
  QCOMPARE(inferred.at(0).at(0).toBool(), false);
  QVERIFY(!page.isBusy());
  QVERIFY2(page.errorText().contains("exit code 3") && page.errorText().contains("model.type: unknown"),
           qPrintable(page.errorText()));
  QVERIFY(!page.hasPredictions());
  QVERIFY(!QFileInfo::exists(page.cachedResultsPath()));
  qunsetenv("STUDIO_CLI");
}

void TestGuiInspectInference::cancelInference() {
  const QString cli = dir_.filePath("slow-studio-cli");
  QFile file(cli);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write("#!/bin/sh\necho 'inference: 1/6' >&2\nexec sleep 60\n");
  file.close();
  QVERIFY(file.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
  qputenv("STUDIO_CLI", cli.toLocal8Bit());
  const QString checkpoint = makeRunWithCheckpoint("run3");
  QVERIFY(!checkpoint.isEmpty());
  InspectPage page(document_.get());
  page.setCheckpointPath(checkpoint);
  QSignalSpy inferred(&page, &InspectPage::inferenceFinished);
  page.load();
  QVERIFY(page.isBusy());
  QVERIFY(!page.loadButton()->isEnabled());
  QTest::qWait(300);
  page.cancel();
  QTRY_COMPARE_WITH_TIMEOUT(inferred.count(), 1, kTimeoutMs);
  QCOMPARE(inferred.at(0).at(0).toBool(), false);
  QVERIFY(!page.isBusy());
  QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));  // asked for: no error
  QVERIFY(!QFileInfo::exists(page.cachedResultsPath()));
  QVERIFY(!QFileInfo::exists(page.cachedResultsPath() + ".part"));
  QVERIFY(page.loadButton()->isEnabled());
  qunsetenv("STUDIO_CLI");
}

// studio-cli missing, not executable, or an executable that cannot run: the error names it,
// and the page is idle again, ready to load.
// A VOC folder opened with a names file (cat, dog): voc:ROOT:SPLIT would make studio-cli read the
// 20 standard classes, where dog is class 12, not 2, so the dataset goes as a dataset YAML beside
// the predictions, naming the names file. Opened without it, the same folder goes as its token,
// and its predictions are cached apart (the description, voc:ROOT:SPLIT, is the same for both).
void TestGuiInspectInference::vocWithNamesFileGoesAsADatasetYaml() {
  for (const char* sub : {"voc/Annotations", "voc/ImageSets/Main"}) QVERIFY(QDir(dir_.path()).mkpath(sub));
  studio::test::write_text(dir_, "voc/ImageSets/Main/trainval.txt", "a\n");
  studio::test::write_text(
      dir_, "voc/Annotations/a.xml",
      "<annotation>\n<size><width>40</width><height>30</height></size>\n<object><name>dog"
      "</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>20</xmax><ymax>20</ymax></bndbox>"
      "</object>\n</annotation>\n");
  const std::string names = studio::test::write_text(dir_, "voc/names.txt", "cat\ndog\n");
  const QString cli = dir_.filePath("fake-studio-cli-voc");
  writeFakeCli(cli, 0);
  qputenv("STUDIO_CLI", cli.toLocal8Bit());
  const QString checkpoint = makeRunWithCheckpoint("voc-run");
  QVERIFY(!checkpoint.isEmpty());

  studio::DatasetSpec spec;
  spec.format = studio::DatasetFormat::Voc;
  spec.roots = {dir_.filePath("voc").toStdString()};
  spec.split = "trainval";
  spec.names = names;
  studio::ui::DatasetDocument document;
  QVERIFY(document.open(spec));
  QTRY_VERIFY_WITH_TIMEOUT(!document.isBusy(), kTimeoutMs);
  QVERIFY(document.hasDataset());
  QCOMPARE(document.dataset().categories.size(), std::size_t(2));

  InspectPage page(&document);
  page.resize(1280, 760);
  page.show();
  page.setCheckpointPath(checkpoint);
  const QString cached = page.cachedResultsPath();
  QSignalSpy inferred(&page, &InspectPage::inferenceFinished);
  page.load();
  QTRY_COMPARE_WITH_TIMEOUT(inferred.count(), 1, kTimeoutMs);
  // The stand-in's predictions are the shapes fixture's, about other images: whether they load
  // says nothing here; what studio-cli was asked to read does.
  QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy(), kTimeoutMs);
  const QStringList args = page.lastInferenceArguments();
  QVERIFY(!args.contains("--coco"));
  const QString dataset = args.value(5);
  QVERIFY2(dataset.endsWith(".yaml") && QFileInfo(dataset).absolutePath() == QFileInfo(cached).absolutePath(),
           qPrintable(args.join(' ')));
  const studio::DatasetSpec back = studio::parse_dataset_token(dataset.toStdString());
  QCOMPARE(int(back.format), int(studio::DatasetFormat::Voc));
  QCOMPARE(QString::fromStdString(back.names), QString::fromStdString(names));
  QCOMPARE(QString::fromStdString(back.roots.at(0)), QDir::cleanPath(dir_.filePath("voc")));
  const studio::Dataset read = studio::load_dataset(back);
  QCOMPARE(read.categories.size(), std::size_t(2));
  QCOMPARE(QString::fromStdString(read.categories[1].name), QStringLiteral("dog"));

  // The standard classes: the token, and another cache entry.
  spec.names.clear();
  QVERIFY(document.open(spec));
  QTRY_VERIFY_WITH_TIMEOUT(!document.isBusy(), kTimeoutMs);
  QCOMPARE(document.dataset().categories.size(), std::size_t(20));
  page.setCheckpointPath(checkpoint);
  QVERIFY(page.cachedResultsPath() != cached);
  page.load();
  QTRY_COMPARE_WITH_TIMEOUT(inferred.count(), 2, kTimeoutMs);
  QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy(), kTimeoutMs);
  QCOMPARE(page.lastInferenceArguments().value(5),
           QStringLiteral("voc:%1:trainval").arg(QDir::cleanPath(dir_.filePath("voc"))));
}

void TestGuiInspectInference::studioCliThatCannotStartIsReported_data() {
  studio::test::addUnstartableStudioCliRows();
}

void TestGuiInspectInference::studioCliThatCannotStartIsReported() {
  QFETCH(QString, name);
  QFETCH(QByteArray, content);
  QFETCH(bool, executable);
  const QString cli = studio::test::writeUnstartableStudioCli(dir_, name, content, executable);
  QVERIFY(!cli.isEmpty());
  qputenv("STUDIO_CLI", cli.toLocal8Bit());
  const QString checkpoint = makeRunWithCheckpoint("run4");
  QVERIFY(!checkpoint.isEmpty());
  InspectPage page(document_.get());
  page.resize(1280, 760);
  page.show();
  QVERIFY(QTest::qWaitForWindowExposed(&page));
  page.setCheckpointPath(checkpoint);
  QVERIFY(page.loadButton()->isEnabled());
  QSignalSpy inferred(&page, &InspectPage::inferenceFinished);
  QTest::mouseClick(page.loadButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(inferred.count(), 1, kTimeoutMs);
  QCOMPARE(inferred.at(0).at(0).toBool(), false);
  qunsetenv("STUDIO_CLI");
  QVERIFY(!page.isBusy());
  QVERIFY2(page.errorText().contains("Could not start") && page.errorText().contains(cli),
           qPrintable(page.errorText()));
  QVERIFY(page.loadButton()->isEnabled());
  QVERIFY(!page.hasPredictions());
  QVERIFY(!QFileInfo::exists(page.cachedResultsPath()));
  if (QByteArray(QTest::currentDataTag()) == "missing") saveShot(page, "inspect_cli_missing");
}

QTEST_MAIN(TestGuiInspectInference)
#include "test_gui_inspect_inference.moc"
