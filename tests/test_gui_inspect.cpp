// The Inspect page on the offscreen platform, viewing and matching, no model needed: the fixture's
// shapes set (tests/gui_inspect_fixture.h) and its results file with known perturbations (a
// dropped object, a wrong class, extra detections, a shifted mask, low scores), opened on the
// page. The viewer's draw counts follow the threshold and class filter, and so do its pixels (a
// mask's interior tinted with its class colour only while its score passes); TP/FP/missed and the
// sort orders are checked against what the perturbations imply. A box-only model on a box-only
// dataset (a TXT list, detections without masks) is matched on boxes and drawn as boxes with
// labels. Bad results files end in an error on an idle page. Predictions from a checkpoint:
// tests/test_gui_inspect_inference.cpp.
#include <QComboBox>
#include <QElapsedTimer>
#include <QFile>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "class_colors.h"
#include "data/dataset_spec.h"
#include "data/rle.h"
#include "dataset_document.h"
#include "eval/coco_results.h"
#include "gui_test_support.h"
#include "gui_inspect_fixture.h"
#include "inspect_page.h"
#include "prediction_viewer.h"
#include "test_support.h"

using studio::ui::InspectPage;
using studio::ui::PredictionViewer;

namespace {

// How far `on` moved from `off` towards `tint`, as the alpha of a blend (0: untouched, 1: tint).
double blendAlpha(QColor on, QColor off, QColor tint) {
  const double d[3] = {double(tint.red() - off.red()), double(tint.green() - off.green()),
                       double(tint.blue() - off.blue())};
  const double m[3] = {double(on.red() - off.red()), double(on.green() - off.green()),
                       double(on.blue() - off.blue())};
  return (m[0] * d[0] + m[1] * d[1] + m[2] * d[2]) / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
}

double colourDistance(QColor a, QColor b) {
  return std::hypot(a.red() - b.red(), std::hypot(a.green() - b.green(), a.blue() - b.blue()));
}

// The opacity PredictionViewer fills a prediction's mask with (kMaskAlpha in prediction_viewer.cpp).
constexpr double kViewerMaskAlpha = 0.42;

}  // namespace

class TestGuiInspect : public QObject, protected studio::test::InspectFixture {
  Q_OBJECT

 private slots:
  void initTestCase();
  void drawnMasksFollowTheThreshold();
  void maskPixelsAreTintedUntilTheThresholdPassesTheScore();
  void countsAndReasons();
  void inspectCacheIsPruned();
  void browsingReadsImagesOffTheGuiThread();
  void classFilter();
  void sortOrders();
  void groundTruthBesideAndExport();
  void boxOnlyResults();
  void boxOnlyModelOnABoxOnlyDataset();
  void badResultsFileIsReported_data();
  void badResultsFileIsReported();
  void realPredictions();
};

void TestGuiInspect::initTestCase() { initFixture(); }

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

// The masks on screen, by their pixels: the viewer of the perfect image rendered with nothing
// above the score threshold (the image alone), at 0.5 (every prediction, scored 0.9) and at
// 0.95 (none again). A pixel deep inside a prediction's mask moves towards that class's colour
// by the mask opacity only while the prediction is shown; a pixel outside every mask never moves.
void TestGuiInspect::maskPixelsAreTintedUntilTheThresholdPassesTheScore() {
  InspectPage page(document_.get());
  openPredictions(page, resultsPath_);
  const studio::ImageInfo& info = gt_.images[Perfect];
  QVERIFY(page.showImage(info.id));
  // Masks only: labels would cover pixels, the ground truth's outlines add lines.
  page.setGroundTruthMode(PredictionViewer::GroundTruthMode::Hidden);
  PredictionViewer* viewer = page.viewer();
  viewer->setLabelsVisible(false);
  const auto grabAt = [&](double threshold) {
    page.setScoreThreshold(threshold);
    return viewer->grab().toImage();
  };
  const QImage none = grabAt(1.0);  // no prediction scores 1; missed objects are outlined at their edges only
  const QImage shown = grabAt(0.5);
  saveShot(*viewer, "inspect_pixels");
  const QImage above = grabAt(0.95);
  QCOMPARE(shown.size(), viewer->size());  // one widget pixel per image pixel of the grab

  // The view is fitted to the image (centred, zoom() widget pixels per image pixel); the probes
  // below check that mapping against the image file itself.
  const double scale = viewer->zoom();
  const QPointF offset((viewer->width() - info.width * scale) / 2,
                       (viewer->height() - info.height * scale) / 2);
  const auto toWidget = [&](int x, int y) { return (offset + QPointF(x + 0.5, y + 0.5) * scale).toPoint(); };
  const QImage source(QString::fromStdString(gt_.image_path(info)));
  QCOMPARE(source.size(), QSize(info.width, info.height));

  std::vector<const studio::Detection*> dets;
  std::vector<std::vector<std::uint8_t>> masks;
  for (const auto& d : dets_)
    if (d.image_id == info.id) {
      dets.push_back(&d);
      masks.push_back(studio::rle_decode(*d.segm));
    }
  QCOMPARE(int(dets.size()), groundTruthCount(Perfect));
  const int w = info.width, h = info.height;
  // Every pixel within 3 of (x, y) is in (or out of) `mask`: away from its outline.
  const auto deep = [&](const std::vector<std::uint8_t>& mask, int x, int y, bool in) {
    for (int dy = -3; dy <= 3; ++dy)
      for (int dx = -3; dx <= 3; ++dx) {
        const int u = x + dx, v = y + dy;
        const bool set = u >= 0 && v >= 0 && u < w && v < h && mask[std::size_t(v) * w + std::size_t(u)];
        if (set != in) return false;
      }
    return true;
  };
  // Within 4 pixels of a box edge (drawn with a 2-pixel pen).
  const auto nearABox = [&](int x, int y) {
    const double px = x + 0.5, py = y + 0.5, margin = 4;
    for (const auto* d : dets) {
      const auto& b = d->bbox;
      const bool inY = py > b[1] - margin && py < b[1] + b[3] + margin;
      const bool inX = px > b[0] - margin && px < b[0] + b[2] + margin;
      if (inY && (std::abs(px - b[0]) < margin || std::abs(px - b[0] - b[2]) < margin)) return true;
      if (inX && (std::abs(py - b[1]) < margin || std::abs(py - b[1] - b[3]) < margin)) return true;
    }
    return false;
  };
  const auto where = [&](int x, int y, QPoint p) {
    return QStringLiteral("image pixel (%1, %2), widget (%3, %4): ").arg(x).arg(y).arg(p.x()).arg(p.y());
  };

  int inside = 0;
  for (std::size_t k = 0; k < dets.size(); ++k) {
    const QColor tint = studio::ui::classColor(gt_.category_index(dets[k]->category_id));
    std::optional<std::pair<QPoint, QPoint>> probe;  // image pixel, widget pixel
    for (int y = 3; y < h - 3 && !probe; ++y)
      for (int x = 3; x < w - 3 && !probe; ++x) {
        if (!deep(masks[k], x, y, true) || nearABox(x, y)) continue;
        bool alone = true;
        for (std::size_t j = 0; j < dets.size(); ++j)
          if (j != k && !deep(masks[j], x, y, false)) alone = false;
        const QPoint p = toWidget(x, y);
        if (alone && none.rect().contains(p) && colourDistance(none.pixelColor(p), tint) >= 80)
          probe = std::make_pair(QPoint(x, y), p);
      }
    if (!probe) continue;  // a small or thin shape, or one coloured like its class
    const auto [xy, p] = *probe;
    const QString at = where(xy.x(), xy.y(), p);
    const QColor off = none.pixelColor(p), on = shown.pixelColor(p);
    // The right place: the untinted view shows the image's own pixel there (a flat shape interior).
    QVERIFY2(colourDistance(off, source.pixelColor(xy)) < 40,
             qPrintable(at + off.name() + " on screen, " + source.pixelColor(xy).name() + " in the image"));
    const double alpha = blendAlpha(on, off, tint);
    QVERIFY2(std::abs(alpha - kViewerMaskAlpha) < 0.08,
             qPrintable(at + QStringLiteral("%1 -> %2 moved %3 towards the class colour %4, expected %5")
                                 .arg(off.name(), on.name())
                                 .arg(alpha)
                                 .arg(tint.name())
                                 .arg(kViewerMaskAlpha)));
    // Towards that colour and no other: the blend of the two it should be.
    const QColor expected(int(std::lround(off.red() + kViewerMaskAlpha * (tint.red() - off.red()))),
                          int(std::lround(off.green() + kViewerMaskAlpha * (tint.green() - off.green()))),
                          int(std::lround(off.blue() + kViewerMaskAlpha * (tint.blue() - off.blue()))));
    QVERIFY2(colourDistance(on, expected) < 16,
             qPrintable(at + on.name() + " shown, expected " + expected.name()));
    // Above its score the prediction is gone, and so is the tint.
    QVERIFY2(colourDistance(above.pixelColor(p), off) <= 2,
             qPrintable(at + above.pixelColor(p).name() + " at threshold 0.95, " + off.name() + " untinted"));
    ++inside;
  }
  QVERIFY2(inside >= 2, "too few predictions with a measurable mask interior");

  // Outside every mask and box: the image, untouched at every threshold.
  int outside = 0;
  for (int y = 4; y < h - 4 && outside < 3; y += 7)
    for (int x = 4; x < w - 4 && outside < 3; x += 11) {
      if (nearABox(x, y)) continue;
      if (!std::all_of(masks.begin(), masks.end(), [&](const auto& m) { return deep(m, x, y, false); }))
        continue;
      const QPoint p = toWidget(x, y);
      const QString at = where(x, y, p);
      const QColor off = none.pixelColor(p);
      QVERIFY2(
          colourDistance(off, source.pixelColor(x, y)) < 40,
          qPrintable(at + off.name() + " on screen, " + source.pixelColor(x, y).name() + " in the image"));
      QVERIFY2(colourDistance(shown.pixelColor(p), off) <= 2,
               qPrintable(at + shown.pixelColor(p).name() + " with the predictions shown, " + off.name() +
                          " without"));
      QVERIFY2(colourDistance(above.pixelColor(p), off) <= 2, qPrintable(at + above.pixelColor(p).name()));
      ++outside;
    }
  QCOMPARE(outside, 3);
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

  // The matching IoU is the page's to set: the true positives here are exact masks (IoU 1), so
  // 0.95 keeps them; the matcher is asked with the new threshold.
  page.setIouThreshold(0.95);
  QCOMPARE(page.matchOptions().iou_threshold, 0.95);
  QCOMPARE(page.totals().truePositives, objects - 3);
  QCOMPARE(page.totals().falsePositives, 4);
}

// The predictions cache keeps the new file, drops the other predictions of the same checkpoint
// name (an older last.pt) and all but the newest of the rest, with their written-out datasets.
void TestGuiInspect::inspectCacheIsPruned() {
  InspectPage page(document_.get());
  QTemporaryDir dir;
  const QDateTime now = QDateTime::currentDateTime();
  int age = 0;
  const auto make = [&](const QString& name) {
    QFile f(dir.filePath(name));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("[]");
    f.close();
    QVERIFY(f.open(QIODevice::ReadWrite));
    QVERIFY(f.setFileTime(now.addSecs(-60 * ++age), QFileDevice::FileModificationTime));
  };
  make("last-bbbbbbbbbbbb.json");     // the new one (newest)
  make("best-000000000001.json");     // other checkpoints, newest first
  make("epoch_3-000000000002.json");
  make("last-aaaaaaaaaaaa.json");     // the same name, older: goes
  make("last-aaaaaaaaaaaa-gt.json");  // its written-out dataset goes with it
  make("epoch_2-000000000003.json");  // beyond the newest two others: goes
  make("notes.json");                 // not a cache entry: stays
  page.pruneInspectCache(dir.filePath("last-bbbbbbbbbbbb.json"), 3);
  QStringList left = QDir(dir.path()).entryList(QDir::Files);
  left.sort();
  QCOMPARE(left, QStringList({"best-000000000001.json", "epoch_3-000000000002.json", "last-bbbbbbbbbbbb.json",
                              "notes.json"}));
}

// Picking an image in the list draws its boxes and masks at once on a canvas of its recorded size
// and reads the pixels on the thread pool; they arrive without blocking the event loop.
void TestGuiInspect::browsingReadsImagesOffTheGuiThread() {
  InspectPage page(document_.get());
  openPredictions(page, resultsPath_);
  QVERIFY(page.showImage(gt_.images[Perfect].id));
  QVERIFY(page.viewer()->hasPixels());  // showImage waits for them
  const int row = page.imageList()->currentIndex().row() == 0 ? 1 : 0;
  page.imageList()->setCurrentIndex(page.imageList()->model()->index(row, 0));
  // Back in this function before the event loop ran: the shapes are there, the pixels are not yet
  // (they are applied from the event loop when read).
  QVERIFY(!page.viewer()->groundTruth().empty());
  QVERIFY(!page.viewer()->hasPixels());
  QVERIFY2(page.viewer()->message().startsWith(QStringLiteral("Loading")), qPrintable(page.viewer()->message()));
  QTRY_VERIFY(page.viewer()->hasPixels());
  QVERIFY(page.viewer()->message().isEmpty());
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

// An SSD's view of things: a TXT list (boxes only, no masks anywhere) and a box detector's
// results (no segmentation). Matching runs on boxes: at 0.5, image a has two true positives and a
// background false positive, image b a true positive, a wrong-class false positive on its circle
// and the circle missed; the 0.3 detection on b's circle turns it into a true positive below 0.3.
// The viewer draws each prediction as a box in its match colour with a "class score" label, and no
// mask.
void TestGuiInspect::boxOnlyModelOnABoxOnlyDataset() {
  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  for (const char* name : {"a.png", "b.png"}) {
    QImage image(160, 120, QImage::Format_RGB32);
    image.fill(QColor(60, 60, 60));
    QVERIFY(image.save(dir.filePath(QLatin1String(name))));
  }
  // x1,y1,x2,y2 (x2/y2 exclusive), cls into names.txt.
  const std::string list = studio::test::write_text(
      dir, "list.txt", "a.png 10,10,60,60,0 80,20,140,80,1\nb.png 20,30,60,90,0 100,40,150,100,1\n");
  const std::string names = studio::test::write_text(dir, "names.txt", "circle\nsquare\n");
  studio::DatasetSpec spec;
  spec.format = studio::DatasetFormat::Txt;
  spec.annotations = list;
  spec.images = dir.path().toStdString();
  spec.names = names;
  studio::ui::DatasetDocument document;
  QVERIFY(document.open(spec));
  QTRY_VERIFY_WITH_TIMEOUT(!document.isBusy(), kTimeoutMs);
  QVERIFY(document.hasDataset());
  const studio::Dataset& ds = document.dataset();
  QCOMPARE(ds.annotations.size(), std::size_t(4));
  for (const auto& a : ds.annotations) QVERIFY(!a.has_mask());
  const std::int64_t a = ds.images[0].id, b = ds.images[1].id;
  const std::int64_t circle = ds.categories[0].id, square = ds.categories[1].id;
  const auto det = studio::test::boxDetection;  // no segm: a box detector's results
  const std::vector<studio::Detection> dets{
      det(a, circle, {10, 10, 50, 50}, 0.9),   // TP
      det(a, square, {84, 22, 60, 60}, 0.8),   // TP, IoU 0.82
      det(a, circle, {100, 88, 30, 25}, 0.7),  // FP: background
      det(b, square, {20, 30, 40, 60}, 0.85),  // FP: wrong class, on the circle
      det(b, square, {100, 40, 50, 60}, 0.6),  // TP
      det(b, circle, {20, 30, 40, 60}, 0.3),   // TP only below 0.3
  };
  const QString path = QString::fromStdString(
      studio::test::write_text(dir, "ssd_results.json", studio::to_coco_results_json(dets)));

  InspectPage page(&document);
  openPredictions(page, path);
  page.setScoreThreshold(0.5);
  QCOMPARE(page.totals().truePositives, 3);
  QCOMPARE(page.totals().falsePositives, 2);
  QCOMPARE(page.totals().missed, 1);
  QCOMPARE(page.matchOf(a)->true_positives, 2);
  QCOMPARE(page.matchOf(a)->false_positives, 1);
  QCOMPARE(page.matchOf(a)->missed_count(), 0);
  QCOMPARE(page.matchOf(b)->true_positives, 1);
  QCOMPARE(page.matchOf(b)->false_positives, 1);
  QCOMPARE(page.matchOf(b)->missed_count(), 1);

  // Image a on screen: three boxes, two green and one red, each labelled, no mask.
  QVERIFY(page.showImage(a));
  PredictionViewer* viewer = page.viewer();
  const QImage shown = viewer->grab().toImage();
  PredictionViewer::DrawCounts c = viewer->lastDrawCounts();
  QCOMPARE(c.predictions, 3);
  QCOMPARE(c.predictionMasks, 0);
  QCOMPARE(c.truePositives, 2);
  QCOMPARE(c.falsePositives, 1);
  QCOMPARE(c.missed, 0);
  QCOMPARE(c.labels, 3);
  QStringList labels;
  for (const PredictionViewer::Item& item : viewer->predictions()) {
    QVERIFY(!item.hasMask());
    labels << item.label;
  }
  labels.sort();
  QCOMPARE(labels, (QStringList{"circle 0.70 · background", "circle 0.90", "square 0.80"}));
  saveShot(page, "inspect_box_only");

  // The boxes by their pixels: somewhere along each box's bottom edge (labels sit on top edges)
  // the line is in its match colour. The fit centres the image, zoom() widget pixels per pixel.
  const double scale = viewer->zoom();
  const QPointF offset((viewer->width() - 160 * scale) / 2, (viewer->height() - 120 * scale) / 2);
  const auto edgeHas = [&](const QImage& grab, const std::array<double, 4>& box, QColor colour) {
    const double y = offset.y() + (box[1] + box[3]) * scale;
    for (double x = box[0] + 3; x < box[0] + box[2] - 3; x += 0.5)
      for (int dy = -2; dy <= 2; ++dy) {
        const QPoint p(int(offset.x() + x * scale), int(y) + dy);
        if (grab.rect().contains(p) && colourDistance(grab.pixelColor(p), colour) < 90) return true;
      }
    return false;
  };
  const QColor green = PredictionViewer::styleColor(PredictionViewer::Style::TruePositive);
  const QColor red = PredictionViewer::styleColor(PredictionViewer::Style::FalsePositive);
  QVERIFY(edgeHas(shown, dets[0].bbox, green));
  QVERIFY(edgeHas(shown, dets[1].bbox, green));
  QVERIFY(edgeHas(shown, dets[2].bbox, red));
  // Above its score the background box is gone from the screen too.
  page.setScoreThreshold(0.75);
  const QImage fewer = viewer->grab().toImage();
  QCOMPARE(viewer->lastDrawCounts().predictions, 2);
  QVERIFY(!edgeHas(fewer, dets[2].bbox, red));

  // Image b: the wrong-class box and the missed circle (orange, labelled under its box).
  page.setScoreThreshold(0.5);
  QVERIFY(page.showImage(b));
  (void)viewer->grab();
  c = viewer->lastDrawCounts();
  QCOMPARE(c.predictions, 2);
  QCOMPARE(c.truePositives, 1);
  QCOMPARE(c.falsePositives, 1);
  QCOMPARE(c.missed, 1);
  QCOMPARE(c.labels, 3);
  QStringList missed;
  for (const PredictionViewer::Item& item : viewer->groundTruth())
    if (item.style == PredictionViewer::Style::Missed) missed << item.label;
  QCOMPARE(missed, QStringList{"missed circle"});
  saveShot(page, "inspect_box_only_missed");

  // Below 0.3 the low-scored circle finds it.
  page.setScoreThreshold(0.25);
  QCOMPARE(page.totals().truePositives, 4);
  QCOMPARE(page.totals().falsePositives, 2);
  QCOMPARE(page.totals().missed, 0);
}

// A results file the page cannot use: the error names the file and what is wrong with it, no
// prediction is shown, and the page can load again.
void TestGuiInspect::badResultsFileIsReported_data() {
  QTest::addColumn<QString>("name");
  QTest::addColumn<QByteArray>("content");
  QTest::addColumn<QString>("problem");
  const studio::Detection& first = dets_.front();
  const auto one = [](studio::Detection d) {
    return QByteArray::fromStdString(studio::to_coco_results_json({d}));
  };
  studio::Detection unknownImage = first;
  unknownImage.image_id = 99;
  studio::Detection unknownCategory = first;
  unknownCategory.category_id = 42;
  studio::Detection boxOnly = unknownImage;
  boxOnly.segm.reset();
  QTest::newRow("broken JSON") << "broken.json"
                               << QByteArray(
                                      R"([{"image_id": 1, "category_id": 1, "score": 0.9, "bbox": [1, 2,)")
                               << "malformed JSON";
  QTest::newRow("not a results file")
      << "annotations.json" << QByteArray(R"({"images": [], "annotations": []})")
      << "expected an array of detections";
  QTest::newRow("unknown image id") << "other_images.json" << one(unknownImage) << "unknown image id 99";
  QTest::newRow("unknown category id")
      << "other_classes.json" << one(unknownCategory) << "unknown category id 42";
  // A box detector's file: the problem is its image id, not the masks a box file never has.
  QTest::newRow("boxes, unknown image id")
      << "boxes_other_images.json" << one(boxOnly) << "unknown image id 99";
}

void TestGuiInspect::badResultsFileIsReported() {
  QFETCH(QString, name);
  QFETCH(QByteArray, content);
  QFETCH(QString, problem);
  const QString path =
      QString::fromStdString(studio::test::write_text(dir_, name.toStdString(), content.toStdString()));
  InspectPage page(document_.get());
  page.resize(1280, 760);
  page.show();
  QVERIFY(QTest::qWaitForWindowExposed(&page));
  page.setResultsPath(path);
  QSignalSpy failed(&page, &InspectPage::loadFailed);
  QSignalSpy loaded(&page, &InspectPage::predictionsLoaded);
  QTest::mouseClick(page.loadButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy(), kTimeoutMs);
  QCOMPARE(failed.count(), 1);
  QCOMPARE(loaded.count(), 0);
  const QString error = page.errorText();
  QVERIFY2(error.contains(name) && error.contains(problem), qPrintable(error));
  QVERIFY(!page.hasPredictions());
  QCOMPARE(page.imageRows(), 0);
  QVERIFY(page.viewer()->predictions().empty());
  QVERIFY(page.loadButton()->isEnabled());
  if (QByteArray(QTest::currentDataTag()) == "unknown image id") saveShot(page, "inspect_bad_results");
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
