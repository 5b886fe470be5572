// The Inspect page on the offscreen platform, no model needed: a generated shapes set and a
// results file made from its ground truth with known perturbations (a dropped object, a wrong
// class, extra detections, a shifted mask, low scores), opened on the page. The viewer's draw
// counts follow the threshold and class filter; TP/FP/missed and the sort orders are checked
// against what the perturbations imply. The checkpoint path runs a stand-in studio-cli (a shell
// script that writes the same results), to check the process, its progress and the cache.
#include <QComboBox>
#include <QElapsedTimer>
#include <QFile>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <map>

#include "data/dataset_spec.h"
#include "data/rle.h"
#include "data/shapes_generator.h"
#include "dataset_document.h"
#include "eval/coco_results.h"
#include "inspect_page.h"
#include "prediction_viewer.h"
#include "studio_cli.h"
#include "test_support.h"

using studio::ui::InspectPage;
using studio::ui::PredictionViewer;

namespace {

constexpr int kTimeoutMs = 20000;

void saveShot(QWidget& widget, const char* name) {
  const QByteArray dir = qgetenv("STUDIO_GUI_TEST_SHOTS");
  // Layout requests posted by the last changes (a label that grew a line) first.
  QCoreApplication::processEvents();
  if (!dir.isEmpty()) widget.grab().save(QString::fromLocal8Bit(dir) + "/" + name + ".png");
}

// What each image of the set gets (images in generation order).
enum Case { Perfect, Dropped, WrongClass, Extras, Shifted, LowScores, CaseCount };

}  // namespace

class TestGuiInspect : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void drawnMasksFollowTheThreshold();
  void countsAndReasons();
  void classFilter();
  void sortOrders();
  void groundTruthBesideAndExport();
  void checkpointRunsInferenceOnceThenCaches();
  void failingInferenceIsReported();
  void boxOnlyResults();
  void cancelInference();
  void realPredictions();

 private:
  void openPredictions(InspectPage& page, const QString& results);
  // Predictions of `image` at or above `threshold` (of `category` when given).
  int expectedShown(std::int64_t image, double threshold, std::optional<std::int64_t> category = {}) const;
  int groundTruthCount(std::size_t imageIndex) const;
  void writeFakeCli(const QString& path, int exitCode);

  QTemporaryDir dir_;
  studio::Dataset gt_;
  std::vector<studio::Detection> dets_;
  QString resultsPath_;
  std::unique_ptr<studio::ui::DatasetDocument> document_;
};

void TestGuiInspect::initTestCase() {
  QVERIFY(dir_.isValid());
  static QtMessageHandler testLibHandler = nullptr;
  testLibHandler =
      qInstallMessageHandler([](QtMsgType type, const QMessageLogContext& context, const QString& text) {
        if (!text.contains(QLatin1String("propagateSizeHints"))) testLibHandler(type, context, text);
      });
  studio::ShapesOptions options;
  options.out_dir = dir_.filePath("shapes").toStdString();
  options.images = CaseCount;
  options.size = 160;
  options.seed = 7;
  options.min_objects = 3;
  options.max_objects = 5;
  gt_ = studio::generate_shapes(options);
  gt_.index();
  const int classes = static_cast<int>(gt_.categories.size());

  for (std::size_t i = 0; i < gt_.images.size(); ++i) {
    const studio::ImageInfo& image = gt_.images[i];
    const auto h = static_cast<std::uint32_t>(image.height), w = static_cast<std::uint32_t>(image.width);
    const auto& anns = gt_.annotations_of(image.id);
    auto make = [&](const studio::Annotation& a, double score, double dx) {
      studio::Detection d;
      d.image_id = image.id;
      d.category_id = a.category_id;
      d.score = score;
      auto polys = a.polygons;
      for (auto& p : polys)
        for (std::size_t k = 0; k < p.size(); k += 2) p[k] += dx;
      d.segm = studio::rle_from_polygons(polys, h, w);
      d.bbox = studio::rle_bbox(*d.segm);
      return d;
    };
    for (std::size_t k = 0; k < anns.size(); ++k) {
      const studio::Annotation& a = gt_.annotations[anns[k]];
      const bool first = k == 0;
      switch (Case(i)) {
        case Perfect:
          dets_.push_back(make(a, 0.9, 0));
          break;
        case Dropped:
          if (!first) dets_.push_back(make(a, 0.9, 0));
          break;
        case WrongClass: {
          studio::Detection d = make(a, first ? 0.8 : 0.9, 0);
          if (first) d.category_id = a.category_id % classes + 1;
          dets_.push_back(d);
          break;
        }
        case Extras:
          dets_.push_back(make(a, 0.9, 0));
          if (first) dets_.push_back(make(a, 0.35, 0));  // a duplicate
          break;
        case Shifted:
          // Moved right by more than its width (left when that leaves the image): IoU 0.
          dets_.push_back(make(
              a, first ? 0.6 : 0.9,
              first ? (a.bbox[0] + 2 * a.bbox[2] + 2 < image.width ? a.bbox[2] + 2 : -a.bbox[2] - 2) : 0));
          break;
        case LowScores:
          dets_.push_back(make(a, 0.2, 0));
          break;
        default:
          break;
      }
    }
    if (Case(i) == Extras) {
      // Background: a 4x4 square in the top-left corner, far smaller than any object.
      studio::Detection d;
      d.image_id = image.id;
      d.category_id = 1;
      d.score = 0.7;
      std::vector<std::uint8_t> bits(std::size_t(h) * w, 0);
      for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 4; ++x) bits[std::size_t(y) * w + x] = 1;
      d.segm = studio::rle_encode(bits.data(), h, w);
      d.bbox = studio::rle_bbox(*d.segm);
      dets_.push_back(d);
    }
  }
  resultsPath_ = QString::fromStdString(
      studio::test::write_text(dir_, "results.json", studio::to_coco_results_json(dets_)));
  document_ = std::make_unique<studio::ui::DatasetDocument>();
  document_->setDataset(gt_, QStringLiteral("shapes test set"));
}

int TestGuiInspect::expectedShown(std::int64_t image, double threshold,
                                  std::optional<std::int64_t> category) const {
  int n = 0;
  for (const auto& d : dets_)
    if (d.image_id == image && d.score >= threshold && (!category || d.category_id == *category)) ++n;
  return n;
}

int TestGuiInspect::groundTruthCount(std::size_t imageIndex) const {
  return static_cast<int>(gt_.annotations_of(gt_.images[imageIndex].id).size());
}

void TestGuiInspect::openPredictions(InspectPage& page, const QString& results) {
  page.resize(1280, 760);
  page.show();
  QVERIFY(QTest::qWaitForWindowExposed(&page));
  page.setResultsPath(results);
  QVERIFY(page.loadButton()->isEnabled());
  QSignalSpy loaded(&page, &InspectPage::predictionsLoaded);
  QTest::mouseClick(page.loadButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy(), kTimeoutMs);
  QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
  QCOMPARE(loaded.count(), 1);
  QVERIFY(page.hasPredictions());
}

void TestGuiInspect::drawnMasksFollowTheThreshold() {
  InspectPage page(document_.get());
  openPredictions(page, resultsPath_);
  const std::int64_t image = gt_.images[Extras].id;
  QVERIFY(page.showImage(image));
  QCOMPARE(page.currentImageId().value(), image);
  // Extras: every object at 0.9, a background square at 0.7, a duplicate at 0.35.
  const int n = groundTruthCount(Extras);
  const std::pair<double, int> steps[] = {{0.5, n + 1}, {0.3, n + 2}, {0.75, n}, {0.95, 0}, {0.0, n + 2}};
  for (const auto& [threshold, masks] : steps) {
    page.setScoreThreshold(threshold);
    QCOMPARE(page.scoreThreshold(), threshold);
    QCOMPARE(masks, expectedShown(image, threshold));
    page.viewer()->grab();  // paints
    const PredictionViewer::DrawCounts c = page.viewer()->lastDrawCounts();
    QCOMPARE(c.predictionMasks, masks);
    QCOMPARE(c.predictions, masks);
    QCOMPARE(c.missed, threshold > 0.9 ? n : 0);
  }
  page.setScoreThreshold(0.3);
  saveShot(page, "inspect_duplicate");
  // The slider itself drives the same path.
  page.thresholdSlider()->setValue(50);
  page.viewer()->grab();
  QCOMPARE(page.viewer()->lastDrawCounts().predictionMasks, n + 1);
  QCOMPARE(page.viewer()->lastDrawCounts().truePositives, n);
  QCOMPARE(page.viewer()->lastDrawCounts().falsePositives, 1);
  saveShot(page, "inspect_extras");

  // Shifted: one mask moved off its object is a false positive and the object is missed.
  QVERIFY(page.showImage(gt_.images[Shifted].id));
  page.viewer()->grab();
  QCOMPARE(page.viewer()->lastDrawCounts().predictionMasks, groundTruthCount(Shifted));
  QCOMPARE(page.viewer()->lastDrawCounts().falsePositives, 1);
  QCOMPARE(page.viewer()->lastDrawCounts().missed, 1);
  saveShot(page, "inspect_shifted");
}

void TestGuiInspect::countsAndReasons() {
  InspectPage page(document_.get());
  openPredictions(page, resultsPath_);
  int objects = 0;
  for (std::size_t i = 0; i < gt_.images.size(); ++i) objects += groundTruthCount(i);
  const auto reasons = [&](Case c) {
    QStringList out;
    for (const auto& p : page.matchOf(gt_.images[c].id)->predictions)
      if (p.outcome == studio::MatchOutcome::FalsePositive)
        out << studio::false_positive_reason_name(p.reason);
    return out.join(',');
  };

  page.setScoreThreshold(0.5);
  // Missed: the dropped, the relabelled and the shifted object, and all of LowScores.
  const int missed = 3 + groundTruthCount(LowScores);
  QCOMPARE(page.totals().missed, missed);
  QCOMPARE(page.totals().truePositives, objects - missed);
  QCOMPARE(page.totals().falsePositives, 3);  // wrong class, background square, shifted
  QCOMPARE(page.totals().ignored, 0);
  QCOMPARE(reasons(WrongClass), QStringLiteral("wrong class"));
  QCOMPARE(reasons(Extras), QStringLiteral("background"));
  QCOMPARE(reasons(Shifted), QStringLiteral("background"));
  const studio::ImageMatch* perfect = page.matchOf(gt_.images[Perfect].id);
  QCOMPARE(perfect->true_positives, groundTruthCount(Perfect));
  QCOMPARE(perfect->quality(), 1.0);
  QCOMPARE(page.matchOf(gt_.images[LowScores].id)->quality(), 0.0);

  page.setScoreThreshold(0.1);
  QCOMPARE(page.totals().missed, 3);
  QCOMPARE(page.totals().falsePositives, 4);  // + the duplicate at 0.35
  QCOMPARE(reasons(Extras), QStringLiteral("background,duplicate"));
  QCOMPARE(page.totals().truePositives, objects - 3);
}

void TestGuiInspect::classFilter() {
  InspectPage page(document_.get());
  openPredictions(page, resultsPath_);
  QCOMPARE(page.classFilter()->count(), int(gt_.categories.size()) + 1);
  const std::int64_t image = gt_.images[Perfect].id;
  QVERIFY(page.showImage(image));
  page.setScoreThreshold(0.5);
  int total = 0;
  for (const auto& category : gt_.categories) {
    page.setClassFilter(category.id);
    page.viewer()->grab();
    const int expected = expectedShown(image, 0.5, category.id);
    QCOMPARE(page.viewer()->lastDrawCounts().predictionMasks, expected);
    total += expected;
  }
  QCOMPARE(total, groundTruthCount(Perfect));
  page.setClassFilter(std::nullopt);
  page.viewer()->grab();
  QCOMPARE(page.viewer()->lastDrawCounts().predictionMasks, total);
}

void TestGuiInspect::sortOrders() {
  InspectPage page(document_.get());
  openPredictions(page, resultsPath_);
  page.setScoreThreshold(0.5);
  QCOMPARE(page.imageRows(), int(CaseCount));
  for (int row = 0; row < CaseCount; ++row) QCOMPARE(page.imageIdAtRow(row), gt_.images[std::size_t(row)].id);

  // Errors at 0.5: Perfect 0, Dropped 1, WrongClass 2, Extras 1, Shifted 2, LowScores >= 3.
  page.setSortOrder(InspectPage::SortOrder::MostErrors);
  QCOMPARE(page.imageIdAtRow(0), gt_.images[LowScores].id);
  QCOMPARE(page.imageIdAtRow(CaseCount - 1), gt_.images[Perfect].id);
  for (int row = 1; row < CaseCount; ++row)
    QVERIFY(page.matchOf(page.imageIdAtRow(row - 1))->errors() >=
            page.matchOf(page.imageIdAtRow(row))->errors());
  QCOMPARE(page.matchOf(page.imageIdAtRow(1))->errors(), 2);
  QCOMPARE(page.matchOf(page.imageIdAtRow(2))->errors(), 2);

  page.setSortOrder(InspectPage::SortOrder::LowestQuality);
  QCOMPARE(page.imageIdAtRow(0), gt_.images[LowScores].id);
  QCOMPARE(page.imageIdAtRow(CaseCount - 1), gt_.images[Perfect].id);
  for (int row = 1; row < CaseCount; ++row)
    QVERIFY(page.matchOf(page.imageIdAtRow(row - 1))->quality() <=
            page.matchOf(page.imageIdAtRow(row))->quality());

  // At 0.1 the low-scored image is perfect: it moves to the end, the list follows the slider.
  page.setScoreThreshold(0.1);
  QVERIFY(page.imageIdAtRow(0) != gt_.images[LowScores].id);
  QCOMPARE(page.matchOf(gt_.images[LowScores].id)->quality(), 1.0);

  // The image on screen stays selected through a re-sort.
  QVERIFY(page.showImage(gt_.images[Extras].id));
  page.setSortOrder(InspectPage::SortOrder::FileOrder);
  QCOMPARE(page.currentImageId().value(), gt_.images[Extras].id);
  QCOMPARE(page.imageList()->currentIndex().row(), int(Extras));
}

void TestGuiInspect::groundTruthBesideAndExport() {
  InspectPage page(document_.get());
  openPredictions(page, resultsPath_);
  QVERIFY(page.showImage(gt_.images[WrongClass].id));
  const int n = groundTruthCount(WrongClass);
  page.setGroundTruthMode(PredictionViewer::GroundTruthMode::Over);
  page.viewer()->grab();
  // Over: the objects found drawn as ground truth outlines, the relabelled one as missed.
  QCOMPARE(page.viewer()->lastDrawCounts().groundTruth, n - 1);
  QCOMPARE(page.viewer()->lastDrawCounts().missed, 1);
  page.setGroundTruthMode(PredictionViewer::GroundTruthMode::Hidden);
  page.viewer()->grab();
  QCOMPARE(page.viewer()->lastDrawCounts().groundTruth, 0);
  QCOMPARE(page.viewer()->lastDrawCounts().missed, 1);
  page.setGroundTruthMode(PredictionViewer::GroundTruthMode::Beside);
  page.viewer()->grab();
  // Beside: the ground truth pane has every object (the missed one in orange, also in the
  // predictions pane); the predictions are drawn once.
  QCOMPARE(page.viewer()->lastDrawCounts().groundTruth, n - 1);
  QCOMPARE(page.viewer()->lastDrawCounts().missed, 2);
  QCOMPARE(page.viewer()->lastDrawCounts().predictionMasks, n);
  saveShot(page, "inspect_beside");

  const QString png = dir_.filePath("view.png");
  QVERIFY(page.exportPng(png));
  QImage exported(png);
  QCOMPARE(exported.size(), page.viewer()->size() * page.viewer()->devicePixelRatio());
}

void TestGuiInspect::writeFakeCli(const QString& path, int exitCode) {
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

void TestGuiInspect::checkpointRunsInferenceOnceThenCaches() {
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

void TestGuiInspect::failingInferenceIsReported() {
  const QString cli = dir_.filePath("failing-studio-cli");
  writeFakeCli(cli, 3);
  qputenv("STUDIO_CLI", cli.toLocal8Bit());
  QVERIFY(QDir(dir_.path()).mkpath("run2/checkpoints"));
  studio::test::write_text(dir_, "run2/checkpoints/best.pt", "x");
  studio::test::write_text(dir_, "run2/config.yaml", "model: {}\n");
  InspectPage page(document_.get());
  page.setCheckpointPath(dir_.filePath("run2/checkpoints/best.pt"));
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

// A results file without masks (a box detector's): boxes drawn and matched on box IoU.
void TestGuiInspect::boxOnlyResults() {
  std::vector<studio::Detection> boxes;
  for (const auto& d : dets_)
    if (d.image_id == gt_.images[Perfect].id) {
      studio::Detection b = d;
      b.segm.reset();
      boxes.push_back(b);
    }
  const QString path = QString::fromStdString(
      studio::test::write_text(dir_, "boxes.json", studio::to_coco_results_json(boxes)));
  InspectPage page(document_.get());
  openPredictions(page, path);
  QVERIFY(page.showImage(gt_.images[Perfect].id));
  page.viewer()->grab();
  const int n = groundTruthCount(Perfect);
  QCOMPARE(page.viewer()->lastDrawCounts().predictions, n);
  QCOMPARE(page.viewer()->lastDrawCounts().predictionMasks, 0);
  // Each box is its mask's tight box, the ground truth boxes are the polygons': TP on boxes.
  QCOMPARE(page.viewer()->lastDrawCounts().truePositives, n);
  QCOMPARE(page.totals().missed, int(gt_.annotations.size()) - n);
}

void TestGuiInspect::cancelInference() {
  const QString cli = dir_.filePath("slow-studio-cli");
  QFile file(cli);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write("#!/bin/sh\necho 'inference: 1/6' >&2\nexec sleep 60\n");
  file.close();
  QVERIFY(file.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
  qputenv("STUDIO_CLI", cli.toLocal8Bit());
  QVERIFY(QDir(dir_.path()).mkpath("run3/checkpoints"));
  studio::test::write_text(dir_, "run3/checkpoints/best.pt", "x");
  studio::test::write_text(dir_, "run3/config.yaml", "model: {}\n");
  InspectPage page(document_.get());
  page.setCheckpointPath(dir_.filePath("run3/checkpoints/best.pt"));
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

// By hand, on a trained model (skipped unless the variables are set):
//   STUDIO_INSPECT_DATASET=coco:ann.json:images/ and STUDIO_INSPECT_RESULTS=results.json, or
//   STUDIO_INSPECT_CHECKPOINT=runs/x/checkpoints/best.pt (STUDIO_CLI=path/to/studio-cli if not found).
// Shots go to STUDIO_GUI_TEST_SHOTS.
void TestGuiInspect::realPredictions() {
  const QString dataset = qEnvironmentVariable("STUDIO_INSPECT_DATASET");
  const QString results = qEnvironmentVariable("STUDIO_INSPECT_RESULTS");
  const QString checkpoint = qEnvironmentVariable("STUDIO_INSPECT_CHECKPOINT");
  if (dataset.isEmpty() || (results.isEmpty() && checkpoint.isEmpty()))
    QSKIP("set STUDIO_INSPECT_DATASET and STUDIO_INSPECT_RESULTS or STUDIO_INSPECT_CHECKPOINT to run");
  studio::ui::DatasetDocument document;
  QVERIFY(document.open(studio::parse_dataset_token(dataset.toStdString())));
  QTRY_VERIFY_WITH_TIMEOUT(!document.isBusy(), kTimeoutMs);
  QVERIFY(document.hasDataset());
  InspectPage page(&document);
  page.resize(1280, 760);
  page.show();
  QVERIFY(QTest::qWaitForWindowExposed(&page));
  QSignalSpy loaded(&page, &InspectPage::predictionsLoaded);
  if (!results.isEmpty()) {
    page.setResultsPath(results);
  } else {
    page.setCheckpointPath(checkpoint);
    QVERIFY(!page.recipePath().isEmpty());
  }
  QElapsedTimer timer;
  timer.start();
  page.load();
  QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy(), 600000);
  qInfo() << "predictions loaded in" << timer.elapsed() << "ms" << page.lastInferenceArguments();
  QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
  QCOMPARE(loaded.count(), 1);
  page.setSortOrder(InspectPage::SortOrder::MostErrors);
  page.showImage(page.imageIdAtRow(0));
  for (double t : {0.5, 0.3}) {
    timer.restart();
    page.setScoreThreshold(t);
    qInfo() << "threshold" << t << "re-matched in" << timer.elapsed() << "ms:" << page.totals().truePositives
            << "TP" << page.totals().falsePositives << "FP" << page.totals().missed << "missed";
  }
  saveShot(page, "inspect_real");
  page.setGroundTruthMode(PredictionViewer::GroundTruthMode::Beside);
  saveShot(page, "inspect_real_beside");
}

QTEST_MAIN(TestGuiInspect)
#include "test_gui_inspect.moc"
