// The Evaluate and Results pages end to end on the offscreen platform: a hand-made ground truth
// (2 images, 2 classes, medium-sized boxes) is opened in the main window, results files whose
// scores are known by construction are evaluated through the page (boxes, and masks whose IoU
// is known), and the numbers are read back from what the page shows. A hand-written TXT list (a
// box-only dataset) is scored by VOC07 11-point mAP through the page and compared with
// evaluate_voc; the metrics offered and the default follow the open dataset's format.
#include <QComboBox>
#include <QFile>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <array>
#include <cmath>

#include "category_metrics_model.h"
#include "confusion_matrix_view.h"
#include "data/rle.h"
#include "data/txt_reader.h"
#include "dataset_document.h"
#include "eval/coco_results.h"
#include "eval/voc_eval.h"
#include "evaluate_page.h"
#include "gui_test_support.h"
#include "main_window.h"
#include "pr_curve_plot.h"
#include "results_model.h"
#include "results_page.h"
#include "test_support.h"

using studio::ui::CategoryMetricsModel;
using studio::ui::EvaluatePage;
using studio::ui::MainWindow;

using studio::test::saveShot;

namespace {

constexpr int kTimeoutMs = 30000;

// Every box is between 32² and 96² in area, so only the "medium" range has ground truth and
// the small/large numbers are undefined (-1).
const char* const kGroundTruth = R"({
  "images": [{"id": 1, "file_name": "a.png", "width": 200, "height": 200},
             {"id": 2, "file_name": "b.png", "width": 200, "height": 200}],
  "categories": [{"id": 1, "name": "circle"}, {"id": 2, "name": "square"}],
  "annotations": [
    {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "area": 2500, "iscrowd": 0,
     "segmentation": [[10, 10, 60, 10, 60, 60, 10, 60]]},
    {"id": 2, "image_id": 1, "category_id": 2, "bbox": [100, 100, 60, 40], "area": 2400, "iscrowd": 0,
     "segmentation": [[100, 100, 160, 100, 160, 140, 100, 140]]},
    {"id": 3, "image_id": 2, "category_id": 1, "bbox": [20, 30, 40, 60], "area": 2400, "iscrowd": 0,
     "segmentation": [[20, 30, 60, 30, 60, 90, 20, 90]]},
    {"id": 4, "image_id": 2, "category_id": 2, "bbox": [120, 50, 50, 50], "area": 2500, "iscrowd": 0,
     "segmentation": [[120, 50, 170, 50, 170, 100, 120, 100]]}]
})";

// Each ground-truth box found exactly.
const char* const kPerfect = R"([
  {"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.9},
  {"image_id": 1, "category_id": 2, "bbox": [100, 100, 60, 40], "score": 0.8},
  {"image_id": 2, "category_id": 1, "bbox": [20, 30, 40, 60], "score": 0.95},
  {"image_id": 2, "category_id": 2, "bbox": [120, 50, 50, 50], "score": 0.85}
])";

// Circles found (plus one lower-scored false positive, which leaves circle AP at 1), squares
// never: AP is the mean of 1 and 0.
const char* const kCirclesOnly = R"([
  {"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.9},
  {"image_id": 2, "category_id": 1, "bbox": [20, 30, 40, 60], "score": 0.95},
  {"image_id": 2, "category_id": 1, "bbox": [150, 150, 40, 40], "score": 0.5}
])";

const char* const kUnknownImage = R"([
  {"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.9},
  {"image_id": 99, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.9}
])";

// A box-only TXT list (txt_reader.h: 0-based corners, x2/y2 exclusive, cls into names.txt) of
// three 200x200 images; circles on every image, squares on two.
const char* const kTxtList =
    "a.png 10,10,60,60,0 100,100,160,140,1\n"
    "b.png 20,30,60,90,0 120,50,170,100,1\n"
    "c.png 30,30,90,90,0\n";

// One image of a VOC folder (voc_reader.h), enough to open it: <root>/Annotations/a.xml and
// <root>/ImageSets/Main/trainval.txt; the image itself may be missing for the Evaluate page.
void writeVocFolder(const QTemporaryDir& dir, const QString& root) {
  QVERIFY(QDir(dir.path()).mkpath(root + QStringLiteral("/Annotations")));
  QVERIFY(QDir(dir.path()).mkpath(root + QStringLiteral("/ImageSets/Main")));
  studio::test::write_text(dir, (root + QStringLiteral("/ImageSets/Main/trainval.txt")).toStdString(), "a\n");
  studio::test::write_text(
      dir, (root + QStringLiteral("/Annotations/a.xml")).toStdString(),
      "<annotation>\n<filename>a.jpg</filename>\n<size><width>200</width><height>200</height></size>\n"
      "<object><name>dog</name><bndbox><xmin>11</xmin><ymin>11</ymin><xmax>60</xmax><ymax>60</ymax>"
      "</bndbox></object>\n</annotation>\n");
}

}  // namespace

class TestGuiEval : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void perfectDetectionsScoreOne();
  void missingClassHalvesTheMean();
  void unknownImageIdIsReported();
  void segmScoresTheMasksNotTheBoxes();
  void metricsGoToTheResultsPage();
  void vocMapScoresATxtList();
  void metricsOfferedFollowTheDataset();
  void checkpointIsPredictedThenScored();

 private:
  void openGroundTruth(MainWindow& window);
  void openSpec(MainWindow& window, const studio::DatasetSpec& spec);
  // The TXT list (kTxtList), its images and names, written once; its spec.
  studio::DatasetSpec txtSpec();
  // Evaluates `resultsFile` on the window's Evaluate page and waits until it is done.
  void runEvaluation(MainWindow& window, const QString& resultsFile,
                     EvaluatePage::Metric metric = EvaluatePage::Metric::Bbox);

  QTemporaryDir dir_;
  QString gtPath_;
};

void TestGuiEval::initTestCase() {
  QVERIFY(dir_.isValid());
  static QtMessageHandler testLibHandler = nullptr;
  testLibHandler =
      qInstallMessageHandler([](QtMsgType type, const QMessageLogContext& context, const QString& text) {
        if (!text.contains(QLatin1String("propagateSizeHints"))) testLibHandler(type, context, text);
      });
  QVERIFY(QDir(dir_.path()).mkpath(QStringLiteral("images")));
  gtPath_ = QString::fromStdString(studio::test::write_text(dir_, "gt.json", kGroundTruth));
  studio::test::write_text(dir_, "perfect.json", kPerfect);
  studio::test::write_text(dir_, "circles_only.json", kCirclesOnly);
  studio::test::write_text(dir_, "bad_results.json", kUnknownImage);
}

void TestGuiEval::openGroundTruth(MainWindow& window) {
  window.resize(1280, 800);
  window.show();
  QVERIFY(QTest::qWaitForWindowExposed(&window));
  studio::DatasetSpec spec;
  spec.format = studio::DatasetFormat::Coco;
  spec.annotations = gtPath_.toStdString();
  spec.images = dir_.filePath(QStringLiteral("images")).toStdString();
  QVERIFY(window.document()->open(spec));
  QTRY_VERIFY_WITH_TIMEOUT(!window.document()->isBusy(), kTimeoutMs);
  QVERIFY(window.document()->hasDataset());
  window.showStage(MainWindow::EvaluateStage);
}

void TestGuiEval::openSpec(MainWindow& window, const studio::DatasetSpec& spec) {
  if (!window.isVisible()) {
    window.resize(1280, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
  }
  QVERIFY(window.document()->open(spec));
  QTRY_VERIFY_WITH_TIMEOUT(!window.document()->isBusy(), kTimeoutMs);
  QVERIFY(window.document()->hasDataset());
  window.showStage(MainWindow::EvaluateStage);
}

studio::DatasetSpec TestGuiEval::txtSpec() {
  const QString folder = dir_.filePath(QStringLiteral("txt"));
  if (!QFileInfo::exists(folder + QStringLiteral("/list.txt"))) {
    QDir().mkpath(folder);
    for (const char* name : {"a.png", "b.png", "c.png"}) {
      QImage image(200, 200, QImage::Format_RGB32);
      image.fill(QColor(70, 90, 110));
      image.save(folder + QLatin1Char('/') + QLatin1String(name));
    }
    studio::test::write_text(dir_, "txt/names.txt", "circle\nsquare\n");
    studio::test::write_text(dir_, "txt/list.txt", kTxtList);
  }
  studio::DatasetSpec spec;
  spec.format = studio::DatasetFormat::Txt;
  spec.annotations = (folder + QStringLiteral("/list.txt")).toStdString();
  spec.images = folder.toStdString();
  spec.names = (folder + QStringLiteral("/names.txt")).toStdString();
  return spec;
}

void TestGuiEval::runEvaluation(MainWindow& window, const QString& resultsFile, EvaluatePage::Metric metric) {
  EvaluatePage* page = window.evaluatePage();
  page->setResultsPath(dir_.filePath(resultsFile));
  QVERIFY(page->setMetric(metric));
  QVERIFY(page->evaluateButton()->isEnabled());
  QSignalSpy done(page, &EvaluatePage::evaluationFinished);
  QTest::mouseClick(page->evaluateButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(!page->isRunning(), kTimeoutMs);
  QCOMPARE(done.count(), 1);
  QVERIFY2(page->errorText().isEmpty(), qPrintable(page->errorText()));
}

void TestGuiEval::perfectDetectionsScoreOne() {
  MainWindow window;
  openGroundTruth(window);
  // Not a VOC dataset: COCO boxes by default; VOC mAP is on offer all the same.
  QCOMPARE(window.evaluatePage()->metric(), EvaluatePage::Metric::Bbox);
  runEvaluation(window, QStringLiteral("perfect.json"));
  EvaluatePage* page = window.evaluatePage();

  const QStringList names{"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                          "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
  const QStringList expected{"1.000", "1.000", "1.000", "–", "1.000", "–",
                             "1.000", "1.000", "1.000", "–", "1.000", "–"};
  QCOMPARE(page->summaryTable()->rowCount(), 12);
  for (int i = 0; i < 12; ++i) {
    QCOMPARE(page->summaryTable()->item(i, 0)->text(), names[i]);
    QCOMPARE(page->summaryValue(names[i]), expected[i]);
  }

  QAbstractItemModel* table = page->categoryTable()->model();
  QCOMPARE(table->rowCount(), 2);
  for (int row = 0; row < 2; ++row) {
    QCOMPARE(table->index(row, 1).data().toString(), QStringLiteral("2"));      // ground truth
    QCOMPARE(table->index(row, 2).data().toString(), QStringLiteral("1.000"));  // AP
    QCOMPARE(table->index(row, 5).data().toString(), QStringLiteral("–"));      // APs
  }

  // Everything on the diagonal; nothing missed, nothing spurious.
  studio::ui::ConfusionMatrixView* confusion = page->confusion();
  QCOMPARE(confusion->table()->rowCount(), 3);
  QCOMPARE(confusion->table()->verticalHeaderItem(2)->text(), QStringLiteral("background"));
  QCOMPARE(confusion->table()->horizontalHeaderItem(2)->text(), QStringLiteral("background"));
  QCOMPARE(confusion->count(0, 0), 2);
  QCOMPARE(confusion->count(1, 1), 2);
  QCOMPARE(confusion->count(0, 1) + confusion->count(1, 0) + confusion->count(0, 2) + confusion->count(1, 2) +
               confusion->count(2, 0) + confusion->count(2, 1),
           0);
  // A higher score threshold (recomputed off the GUI thread) drops the squares (0.8, 0.85): both
  // become missed objects; the circles (0.9, 0.95) stay.
  confusion->setThresholds(0.86, 0.5);
  QTRY_COMPARE(confusion->count(1, 2), 2);
  QCOMPARE(confusion->count(1, 1), 0);
  QCOMPARE(confusion->count(0, 0), 2);
  // A new evaluation keeps the chosen thresholds.
  runEvaluation(window, QStringLiteral("perfect.json"));
  QCOMPARE(confusion->count(1, 2), 2);
  confusion->setThresholds(0.3, 0.5);
  QTRY_COMPARE(confusion->count(1, 1), 2);

  const QStringList graphs = page->prCurves()->graphNames();
  QVERIFY2(graphs.contains("circle") && graphs.contains("square") && graphs.contains("mean"),
           qPrintable(graphs.join(',')));
  page->prCurves()->setIou(0.75);
  QCOMPARE(page->prCurves()->graphNames().size(), 3);

  saveShot(window, "evaluate_page");
  page->tabs()->setCurrentIndex(1);
  saveShot(window, "evaluate_pr");
  page->tabs()->setCurrentIndex(2);
  saveShot(window, "evaluate_confusion");
}

void TestGuiEval::missingClassHalvesTheMean() {
  MainWindow window;
  openGroundTruth(window);
  runEvaluation(window, QStringLiteral("circles_only.json"));
  EvaluatePage* page = window.evaluatePage();
  QCOMPARE(page->summaryValue("AP"), QStringLiteral("0.500"));
  QCOMPARE(page->summaryValue("AP50"), QStringLiteral("0.500"));
  QCOMPARE(page->summaryValue("AR100"), QStringLiteral("0.500"));
  QCOMPARE(page->summaryValue("APs"), QStringLiteral("–"));

  // Sorted by AP, best first, through the proxy.
  page->categoryTable()->sortByColumn(2, Qt::DescendingOrder);
  QAbstractItemModel* table = page->categoryTable()->model();
  QCOMPARE(table->index(0, 0).data().toString(), QStringLiteral("circle"));
  QCOMPARE(table->index(0, 2).data().toString(), QStringLiteral("1.000"));
  QCOMPARE(table->index(1, 0).data().toString(), QStringLiteral("square"));
  QCOMPARE(table->index(1, 2).data().toString(), QStringLiteral("0.000"));
  page->categoryTable()->sortByColumn(2, Qt::AscendingOrder);
  QCOMPARE(table->index(0, 0).data().toString(), QStringLiteral("square"));

  studio::ui::ConfusionMatrixView* confusion = page->confusion();
  QCOMPARE(confusion->count(0, 0), 2);  // circles found
  QCOMPARE(confusion->count(1, 2), 2);  // squares missed (background column)
  QCOMPARE(confusion->count(2, 0), 1);  // the spurious circle (background row)

  page->categoryTable()->sortByColumn(2, Qt::DescendingOrder);
  saveShot(window, "evaluate_mixed");
  page->tabs()->setCurrentIndex(1);
  saveShot(window, "evaluate_mixed_pr");
}

void TestGuiEval::unknownImageIdIsReported() {
  MainWindow window;
  openGroundTruth(window);
  EvaluatePage* page = window.evaluatePage();
  page->setResultsPath(dir_.filePath(QStringLiteral("bad_results.json")));
  page->evaluate();
  QTRY_VERIFY_WITH_TIMEOUT(!page->isRunning(), kTimeoutMs);
  const QString error = page->errorText();
  QVERIFY2(error.contains(QStringLiteral("bad_results.json")), qPrintable(error));
  QVERIFY2(error.contains(QStringLiteral("99")), qPrintable(error));
  QVERIFY(!page->hasResults());

  // A path that is not there is caught before any work starts.
  page->setResultsPath(dir_.filePath(QStringLiteral("nowhere.json")));
  page->evaluate();
  QVERIFY(!page->isRunning());
  QVERIFY2(page->errorText().contains(QStringLiteral("nowhere.json")), qPrintable(page->errorText()));
}

// Masks: each result carries its object's exact box but a mask; scored as segm, the masks count.
// Perfect masks score 1. Masks moved right by a fifth of their object's width overlap it with
// IoU (w - d) / (w + d) = 2/3, a match at the IoU thresholds 0.50 ... 0.65 and none from 0.70:
// AP 4/10 = 0.4, AP50 1, AP75 0, every recall 0.4. The same file as bbox scores 1 throughout.
void TestGuiEval::segmScoresTheMasksNotTheBoxes() {
  MainWindow window;
  openGroundTruth(window);
  const studio::Dataset& gt = window.document()->dataset();
  QCOMPARE(gt.annotations.size(), std::size_t(4));
  for (const int shiftFifths : {0, 1}) {
    std::vector<studio::Detection> dets;
    for (const studio::Annotation& a : gt.annotations) {
      const studio::ImageInfo* image = gt.image_by_id(a.image_id);
      const auto h = std::uint32_t(image->height), w = std::uint32_t(image->width);
      const std::vector<std::uint8_t> mask = studio::rle_decode(studio::rle_from_polygons(a.polygons, h, w));
      const int dx = shiftFifths * int(a.bbox[2]) / 5;
      std::vector<std::uint8_t> moved(mask.size(), 0);
      for (std::uint32_t y = 0; y < h; ++y)
        for (std::uint32_t x = 0; x + dx < w; ++x) moved[y * w + x + dx] = mask[y * w + x];
      // The IoU the numbers below rest on, counted here.
      std::uint64_t both = 0, either = 0;
      for (std::size_t i = 0; i < mask.size(); ++i) {
        both += mask[i] && moved[i];
        either += mask[i] || moved[i];
      }
      const double iou = double(both) / double(either);
      if (shiftFifths == 0)
        QCOMPARE(iou, 1.0);
      else
        QVERIFY2(iou > 0.655 && iou < 0.695,
                 qPrintable(QStringLiteral("annotation %1: IoU %2").arg(a.id).arg(iou)));
      studio::Detection d;
      d.image_id = a.image_id;
      d.category_id = a.category_id;
      d.score = 0.9 - 0.1 * double(a.id);
      d.bbox = a.bbox;
      d.segm = studio::rle_encode(moved.data(), h, w);
      dets.push_back(d);
    }
    const QString file =
        shiftFifths ? QStringLiteral("masks_moved.json") : QStringLiteral("masks_perfect.json");
    studio::test::write_text(dir_, file.toStdString(), studio::to_coco_results_json(dets));

    runEvaluation(window, file, EvaluatePage::Metric::Segm);
    EvaluatePage* page = window.evaluatePage();
    QVERIFY(page->hasResults());
    const QStringList names{"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                            "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
    const QStringList expected = shiftFifths ? QStringList{"0.400", "1.000", "0.000", "–", "0.400", "–",
                                                           "0.400", "0.400", "0.400", "–", "0.400", "–"}
                                             : QStringList{"1.000", "1.000", "1.000", "–", "1.000", "–",
                                                           "1.000", "1.000", "1.000", "–", "1.000", "–"};
    QCOMPARE(page->summaryTable()->rowCount(), 12);
    for (int i = 0; i < 12; ++i) QCOMPARE(page->summaryValue(names[i]), expected[i]);
    // The page says what it scored, and the metrics are the mask ones.
    QCOMPARE(page->metric(), EvaluatePage::Metric::Segm);
    QStringList titles;
    for (const QLabel* label : page->findChildren<QLabel*>())
      if (label->text().contains(file)) titles << label->text();
    QCOMPARE(titles.size(), 1);
    QVERIFY2(titles.first().contains(QStringLiteral("COCO segm")), qPrintable(titles.first()));
    QVERIFY(page->metrics().segm.has_value());
    QVERIFY(!page->metrics().bbox.has_value());
    QCOMPARE(page->metrics().segm->stats[0], shiftFifths ? 0.4 : 1.0);
    if (shiftFifths) saveShot(window, "evaluate_segm");
  }

  // The moved masks' file as boxes: each box is exact.
  runEvaluation(window, QStringLiteral("masks_moved.json"), EvaluatePage::Metric::Bbox);
  EvaluatePage* page = window.evaluatePage();
  QCOMPARE(page->summaryValue("AP"), QStringLiteral("1.000"));
  QCOMPARE(page->summaryValue("AP75"), QStringLiteral("1.000"));
  QVERIFY(page->metrics().bbox.has_value());
  QCOMPARE(page->metrics().bbox->stats[0], 1.0);
  // The same file was scored as masks just before: Save and Add to Results keep those too.
  QVERIFY(page->metrics().segm.has_value());
  QCOMPARE(page->metrics().segm->stats[0], 0.4);
  // Another results file starts afresh.
  runEvaluation(window, QStringLiteral("masks_perfect.json"), EvaluatePage::Metric::Bbox);
  QVERIFY(page->metrics().bbox.has_value());
  QVERIFY(!page->metrics().segm.has_value());
}

void TestGuiEval::metricsGoToTheResultsPage() {
  MainWindow window;
  openGroundTruth(window);
  runEvaluation(window, QStringLiteral("perfect.json"));
  const QString metricsPath = dir_.filePath(QStringLiteral("perfect_metrics.json"));
  QVERIFY(window.evaluatePage()->saveMetrics(metricsPath));
  QVERIFY(QFileInfo::exists(metricsPath));

  studio::ui::ResultsPage* results = window.resultsPage();
  QVERIFY2(results->addPath(metricsPath), qPrintable(results->errorText()));
  studio::ui::ResultsModel* model = results->model();
  QCOMPARE(model->rowCount(), 1);
  const int boxAp = model->columnOf(QStringLiteral("box AP"));
  QVERIFY(boxAp >= 0);
  QCOMPARE(model->index(0, boxAp).data().toString(), QStringLiteral("100.0"));
  // Box numbers only: the detail columns say so.
  QCOMPARE(model->columnOf(QStringLiteral("APm")), -1);
  QCOMPARE(model->index(0, model->columnOf(QStringLiteral("box APm"))).data().toString(),
           QStringLiteral("100.0"));
  // The long dataset token is capped (elided, whole in its tooltip) so the APs stay in view.
  const int datasetColumn = model->columnOf(QStringLiteral("dataset"));
  QVERIFY(results->table()->columnWidth(datasetColumn) <= 220);
  QVERIFY(model->index(0, datasetColumn).data(Qt::ToolTipRole).toString().contains(QStringLiteral("gt.json")));

  // "Add to Results" on the Evaluate page lands in the same table.
  window.evaluatePage()->addToResults();
  QCOMPARE(model->rowCount(), 2);
  // With runs in it the page offers export and no longer says it is empty.
  for (QPushButton* button : results->findChildren<QPushButton*>())
    if (button->text().startsWith(QStringLiteral("Export")) || button->text().startsWith(QStringLiteral("Copy")))
      QVERIFY2(button->isEnabled(), qPrintable(button->text()));
  for (QLabel* label : results->findChildren<QLabel*>())
    if (label->text().startsWith(QStringLiteral("No runs yet"))) QVERIFY(label->isHidden());

  const QString markdownPath = dir_.filePath(QStringLiteral("results.md"));
  QVERIFY2(results->exportTo(markdownPath, studio::TableFormat::Markdown), qPrintable(results->errorText()));
  QFile file(markdownPath);
  QVERIFY(file.open(QIODevice::ReadOnly));
  const QString markdown = QString::fromUtf8(file.readAll());
  QVERIFY2(markdown.startsWith(QLatin1Char('|')), qPrintable(markdown));
  QVERIFY2(markdown.contains(QStringLiteral("box AP")), qPrintable(markdown));
  QCOMPARE(markdown.count(QStringLiteral("100.0")) >= 2, true);
  QCOMPARE(results->markdown(), markdown);

  window.showStage(MainWindow::ResultsStage);
  saveShot(window, "results_page");

  // An unreadable file says so and adds nothing.
  const QString broken =
      QString::fromStdString(studio::test::write_text(dir_, "broken.json", "{\"meta\": ["));
  QVERIFY(!results->addPath(broken));
  QVERIFY2(results->errorText().contains(QStringLiteral("broken.json")), qPrintable(results->errorText()));
  QCOMPARE(model->rowCount(), 2);

  results->table()->selectRow(0);
  results->removeSelected();
  QCOMPARE(model->rowCount(), 1);
}

// A box-only TXT list scored by VOC mAP with the VOC07 11-point rule, as SSD users score theirs:
// the page's mAP and per-class APs are evaluate_voc's on the same detections. The detections make
// the two AP rules differ (circles: TP 0.9, a background FP 0.8, TP 0.7 and one missed, area AP
// 5/9, 11-point AP 6/11), so the number shown tells which rule ran.
void TestGuiEval::vocMapScoresATxtList() {
  const studio::DatasetSpec spec = txtSpec();
  studio::Dataset dataset = studio::read_txt(spec.annotations, spec.images, spec.names);
  dataset.index();
  QCOMPARE(dataset.images.size(), std::size_t(3));
  QCOMPARE(dataset.annotations.size(), std::size_t(5));
  const auto imageId = [&](const char* file) {
    for (const auto& image : dataset.images)
      if (QFileInfo(QString::fromStdString(image.file_name)).fileName() == QLatin1String(file))
        return image.id;
    return std::int64_t(-1);
  };
  const auto boxOf = [&](std::int64_t image, std::int64_t category) {
    for (std::size_t index : dataset.annotations_of(image))
      if (dataset.annotations[index].category_id == category) return dataset.annotations[index].bbox;
    return std::array<double, 4>{0, 0, 0, 0};
  };
  const std::int64_t a = imageId("a.png"), b = imageId("b.png");
  QVERIFY(a >= 0 && b >= 0);
  const std::int64_t circle = dataset.categories[0].id, square = dataset.categories[1].id;
  QVERIFY(dataset.categories[0].name == "circle");
  const auto detection = studio::test::boxDetection;  // no segm: a box detector's results
  const std::vector<studio::Detection> dets{
      detection(a, circle, boxOf(a, circle), 0.9),
      detection(a, circle, {150, 10, 30, 30}, 0.8),  // background
      detection(b, circle, boxOf(b, circle), 0.7),   // c's circle is never found
      detection(a, square, boxOf(a, square), 0.95),
      detection(b, square, {10, 150, 40, 40}, 0.6),  // background
      detection(b, square, boxOf(b, square), 0.5),
  };
  const QString resultsName = QStringLiteral("txt_boxes.json");
  const std::string results =
      studio::test::write_text(dir_, resultsName.toStdString(), studio::to_coco_results_json(dets));

  // The reference, on the detections as read back from the file the page reads.
  const std::vector<studio::Detection> read =
      studio::read_coco_results(results, dataset, studio::IouType::Bbox);
  const studio::VocEvalResult points11 = studio::evaluate_voc(dataset, read, studio::VocApMethod::Points11);
  const studio::VocEvalResult area = studio::evaluate_voc(dataset, read, studio::VocApMethod::Area);
  QVERIFY2(CategoryMetricsModel::formatValue(points11.map) != CategoryMetricsModel::formatValue(area.map),
           "the detections should make the two AP rules differ");

  MainWindow window;
  openSpec(window, spec);
  EvaluatePage* page = window.evaluatePage();
  // A TXT list: COCO boxes by default, VOC mAP offered, masks not (the list has none).
  QCOMPARE(page->metric(), EvaluatePage::Metric::Bbox);
  QVERIFY(!page->setMetric(EvaluatePage::Metric::Segm));
  page->setVocMethod(EvaluatePage::VocMethod::Points11);
  runEvaluation(window, resultsName, EvaluatePage::Metric::Voc);

  QCOMPARE(page->summaryTable()->rowCount(), 1);
  QCOMPARE(page->summaryValue(QStringLiteral("mAP")), CategoryMetricsModel::formatValue(points11.map));
  QVERIFY(page->metrics().voc.has_value());
  QCOMPARE(page->metrics().voc->method, studio::VocApMethod::Points11);
  QCOMPARE(page->metrics().voc->map, points11.map);
  QCOMPARE(page->metrics().voc->classes.size(), points11.classes.size());
  for (std::size_t k = 0; k < points11.classes.size(); ++k) {
    QCOMPARE(page->metrics().voc->classes[k].category_id, points11.classes[k].category_id);
    QCOMPARE(page->metrics().voc->classes[k].ap, points11.classes[k].ap);
  }
  // The circles' AP as worked out above; the title says which rule ran.
  QVERIFY(std::abs(points11.classes[0].ap - 6.0 / 11.0) < 1e-12);
  QVERIFY(std::abs(area.classes[0].ap - 5.0 / 9.0) < 1e-12);
  QStringList titles;
  for (const QLabel* label : page->findChildren<QLabel*>())
    if (label->text().contains(resultsName)) titles << label->text();
  QCOMPARE(titles.size(), 1);
  QVERIFY2(titles.first().contains(QStringLiteral("VOC mAP (11-point)")), qPrintable(titles.first()));
  saveShot(window, "evaluate_txt_voc07");

  // The other rule on the same file gives the other number.
  page->setVocMethod(EvaluatePage::VocMethod::Area);
  runEvaluation(window, resultsName, EvaluatePage::Metric::Voc);
  QCOMPARE(page->summaryValue(QStringLiteral("mAP")), CategoryMetricsModel::formatValue(area.map));
}

// Which metrics are offered, and the default: COCO (masks too when the set has them), TXT (boxes
// and VOC mAP), VOC (VOC mAP by default). A metric the user picked stays when another dataset
// offers it, and the default returns where it is not offered.
void TestGuiEval::metricsOfferedFollowTheDataset() {
  const auto offered = [](EvaluatePage* page) { return page->offeredMetrics(); };
  using M = EvaluatePage::Metric;
  writeVocFolder(dir_, QStringLiteral("voc"));
  studio::DatasetSpec voc;
  voc.format = studio::DatasetFormat::Voc;
  voc.roots = {dir_.filePath(QStringLiteral("voc")).toStdString()};
  voc.split = "trainval";

  {
    MainWindow window;
    openGroundTruth(window);
    EvaluatePage* page = window.evaluatePage();
    QCOMPARE(page->metric(), M::Bbox);
    QVERIFY(offered(page) == (QList<M>{M::Bbox, M::Segm, M::Voc}));
  }
  {
    MainWindow window;
    openSpec(window, txtSpec());
    EvaluatePage* page = window.evaluatePage();
    QCOMPARE(page->metric(), M::Bbox);
    QVERIFY(offered(page) == (QList<M>{M::Bbox, M::Voc}));
    openSpec(window, voc);
    QCOMPARE(page->metric(), M::Voc);  // VOC folders are scored the VOC way by default
    QVERIFY(offered(page) == (QList<M>{M::Bbox, M::Voc}));
    // The AP-rule combo shows with VOC mAP only.
    QComboBox* rule = nullptr;
    for (QComboBox* combo : page->findChildren<QComboBox*>())
      if (combo->findText(QStringLiteral("11-point (VOC2007)")) >= 0) rule = combo;
    QVERIFY(rule);
    QVERIFY(rule->isVisible());
    saveShot(window, "evaluate_voc_default");
    page->setMetric(M::Bbox);
    QVERIFY(!rule->isVisible());
    // Picked by the user: stays on the next VOC dataset and on a TXT list.
    openSpec(window, voc);
    QCOMPARE(page->metric(), M::Bbox);
    page->setMetric(M::Voc);
    openSpec(window, txtSpec());
    QCOMPARE(page->metric(), M::Voc);
    QVERIFY(rule->isVisible());
  }
}

QTEST_MAIN(TestGuiEval)
// A checkpoint instead of a results file: studio-cli infer (a stand-in here that records its calls
// and writes perfect.json to --out) predicts once with the run's own recipe; the predictions are
// scored, and kept, so evaluating the same checkpoint again runs nothing.
void TestGuiEval::checkpointIsPredictedThenScored() {
  QVERIFY(QDir(dir_.path()).mkpath(QStringLiteral("run/checkpoints")));
  studio::test::write_text(dir_, "run/checkpoints/best.pt", "a checkpoint");
  studio::test::write_text(dir_, "run/config.yaml", "model: {}\n");
  const QString cli = dir_.filePath(QStringLiteral("fake-studio-cli"));
  const QString calls = dir_.filePath(QStringLiteral("calls.txt"));
  studio::test::write_text(dir_, "fake-studio-cli",
                           QStringLiteral("#!/bin/sh\n"
                                          "echo \"$@\" >> '%1'\n"
                                          "out=''\n"
                                          "while [ $# -gt 0 ]; do if [ \"$1\" = --out ]; then out=$2; fi; shift; done\n"
                                          "echo 'inference: 2/2' >&2\n"
                                          "cp '%2' \"$out\"\n")
                               .arg(calls, dir_.filePath(QStringLiteral("perfect.json")))
                               .toStdString());
  QVERIFY(QFile::setPermissions(cli, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
  qputenv("STUDIO_CLI", cli.toLocal8Bit());
  qputenv("XDG_CACHE_HOME", dir_.filePath(QStringLiteral("cache")).toLocal8Bit());

  MainWindow window;
  openGroundTruth(window);
  EvaluatePage* page = window.evaluatePage();
  page->setCheckpointPath(dir_.filePath(QStringLiteral("run/checkpoints/best.pt")));
  QCOMPARE(QFileInfo(page->recipePath()).canonicalFilePath(),
           QFileInfo(dir_.filePath(QStringLiteral("run/config.yaml"))).canonicalFilePath());
  QVERIFY(page->checkpointPredictionsPath().startsWith(dir_.filePath(QStringLiteral("cache"))));
  for (int round = 0; round < 2; ++round) {
    QVERIFY(page->evaluateButton()->isEnabled());
    QSignalSpy done(page, &EvaluatePage::evaluationFinished);
    QTest::mouseClick(page->evaluateButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 20000);
    QVERIFY2(page->errorText().isEmpty(), qPrintable(page->errorText()));
    QCOMPARE(page->summaryValue(QStringLiteral("AP")), QStringLiteral("1.000"));
  }
  QFile recorded(calls);
  QVERIFY(recorded.open(QIODevice::ReadOnly));
  // (The Train page asks `devices --json` when the window opens.)
  const QStringList lines =
      QString::fromUtf8(recorded.readAll()).split('\n', Qt::SkipEmptyParts).filter(QRegularExpression("^infer "));
  QVERIFY2(lines.size() == 1, qPrintable(lines.join(" || ")));  // predicted once
  QVERIFY2(lines[0].startsWith(QStringLiteral("infer --config ")) && lines[0].contains(QStringLiteral("--weights")) &&
               lines[0].contains(QStringLiteral("config.yaml")) && lines[0].contains(gtPath_),
           qPrintable(lines[0]));
  saveShot(window, "evaluate_checkpoint");
  qunsetenv("STUDIO_CLI");
  qunsetenv("XDG_CACHE_HOME");
}

#include "test_gui_eval.moc"
