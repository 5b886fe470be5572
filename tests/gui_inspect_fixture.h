#pragma once
// The fixture of the Inspect page's tests (tests/test_gui_inspect.cpp: viewing and matching;
// tests/test_gui_inspect_inference.cpp: predictions from a checkpoint through studio-cli), on the
// offscreen platform, no model needed: a generated shapes set and a results file made from its
// ground truth with known perturbations (a dropped object, a wrong class, extra detections, a
// shifted mask, low scores), and the document the pages open it in.
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "data/rle.h"
#include "data/shapes_generator.h"
#include "dataset_document.h"
#include "eval/coco_results.h"
#include "inspect_page.h"
#include "test_support.h"

namespace studio::test {

// The test classes derive from it (after QObject); initTestCase calls initFixture().
class InspectFixture {
 protected:
  using InspectPage = studio::ui::InspectPage;

  static constexpr int kTimeoutMs = 20000;

  // What each image of the set gets (images in generation order).
  enum Case { Perfect, Dropped, WrongClass, Extras, Shifted, LowScores, CaseCount };

  // With STUDIO_GUI_TEST_SHOTS=DIR set, `widget` is saved there as NAME.png, to look at.
  static void saveShot(QWidget& widget, const char* name) {
    const QByteArray dir = qgetenv("STUDIO_GUI_TEST_SHOTS");
    // Layout requests posted by the last changes (a label that grew a line) first.
    QCoreApplication::processEvents();
    if (!dir.isEmpty()) widget.grab().save(QString::fromLocal8Bit(dir) + "/" + name + ".png");
  }

  // The set, its results file (resultsPath_) and the document; the body of initTestCase.
  void initFixture();
  void openPredictions(InspectPage& page, const QString& results);
  // Predictions of `image` at or above `threshold` (of `category` when given).
  int expectedShown(std::int64_t image, double threshold, std::optional<std::int64_t> category = {}) const;
  int groundTruthCount(std::size_t imageIndex) const;

  QTemporaryDir dir_;
  studio::Dataset gt_;
  std::vector<studio::Detection> dets_;
  QString resultsPath_;
  std::unique_ptr<studio::ui::DatasetDocument> document_;
};

inline void InspectFixture::initFixture() {
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

inline int InspectFixture::expectedShown(std::int64_t image, double threshold,
                                         std::optional<std::int64_t> category) const {
  int n = 0;
  for (const auto& d : dets_)
    if (d.image_id == image && d.score >= threshold && (!category || d.category_id == *category)) ++n;
  return n;
}

inline int InspectFixture::groundTruthCount(std::size_t imageIndex) const {
  return static_cast<int>(gt_.annotations_of(gt_.images[imageIndex].id).size());
}

inline void InspectFixture::openPredictions(InspectPage& page, const QString& results) {
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

}  // namespace studio::test
