// Per-image TP/FP/missed matching for the Inspect page, on hand-made images whose IoUs are
// worked out in the comments.
#include <QtTest>

#include "eval/match_predictions.h"

using studio::Annotation;
using studio::Dataset;
using studio::Detection;
using studio::FalsePositiveReason;
using studio::ImageMatch;
using studio::ImageMatcher;
using studio::MatchOptions;
using studio::MatchOutcome;

namespace {

Annotation box_ann(std::int64_t id, std::int64_t image, std::int64_t category, std::array<double, 4> box,
                   bool crowd = false) {
  Annotation a;
  a.id = id;
  a.image_id = image;
  a.category_id = category;
  a.bbox = box;
  a.area = box[2] * box[3];
  a.iscrowd = crowd;
  return a;
}

Detection det(std::int64_t image, std::int64_t category, std::array<double, 4> box, double score) {
  Detection d;
  d.image_id = image;
  d.category_id = category;
  d.bbox = box;
  d.score = score;
  d.area = box[2] * box[3];
  return d;
}

Dataset dataset_with(std::vector<Annotation> annotations, int images = 1) {
  Dataset ds;
  for (int i = 1; i <= images; ++i) ds.images.push_back({i, "im" + std::to_string(i) + ".png", 100, 100});
  ds.categories = {{1, "a", ""}, {2, "b", ""}};
  ds.annotations = std::move(annotations);
  ds.index();
  return ds;
}

// A row-major h x w mask with the given pixels (x, y) set, as an Rle.
studio::Rle mask_of(std::uint32_t h, std::uint32_t w, const std::vector<std::pair<int, int>>& pixels) {
  std::vector<std::uint8_t> m(h * w, 0);
  for (auto [x, y] : pixels) m[static_cast<std::size_t>(y) * w + x] = 1;
  return studio::rle_encode(m.data(), h, w);
}

// Outcome of each taking-part detection, by its index in the input, in score order.
QString describe(const ImageMatch& m) {
  QStringList parts;
  for (const auto& p : m.predictions) {
    QString s = QString::number(p.detection) + ":";
    if (p.outcome == MatchOutcome::TruePositive) s += "tp";
    if (p.outcome == MatchOutcome::Ignored) s += "ignored";
    if (p.outcome == MatchOutcome::FalsePositive) s += studio::false_positive_reason_name(p.reason);
    parts << s;
  }
  return parts.join(',');
}

}  // namespace

class TestMatchPredictions : public QObject {
  Q_OBJECT

 private slots:
  void everyKindOfOutcome();
  void classFilterRestrictsBothSides();
  void higherScoreTakesTheObjectFirst();
  void realObjectBeforeCrowd();
  void maskIouWhenBothHaveMasks();
  void difficultIsNeverMissed();
  void emptyImageIsPerfect();
  void matchersPerImage();
};

// Image 100x100; ground truth:
//   g0 a [0,0,10,10]   g1 a [50,50,10,10]   g2 b [20,0,10,10]   g3 a crowd [0,60,40,40]
// detections:
//   d0 a [0,0,10,10] .9   -> TP on g0 (IoU 1)
//   d1 a [1,0,10,10] .8   -> IoU with g0 = 90 / 110 = 0.818, but g0 is taken: duplicate
//   d2 a [20,0,10,10] .7  -> exactly on g2, which is class b: wrong class
//   d3 a [80,80,10,10] .6 -> touches nothing: background
//   d4 a [5,65,10,10] .55 -> inside the crowd region (crowd IoU = 100 / 100): ignored
//   d5 b [20,0,10,10] .3  -> below 0.5; at 0.2 it is a TP on g2
void TestMatchPredictions::everyKindOfOutcome() {
  const Dataset ds =
      dataset_with({box_ann(10, 1, 1, {0, 0, 10, 10}), box_ann(11, 1, 1, {50, 50, 10, 10}),
                    box_ann(12, 1, 2, {20, 0, 10, 10}), box_ann(13, 1, 1, {0, 60, 40, 40}, true)});
  // Given out of score order: the matcher sorts.
  const ImageMatcher matcher(
      ds, 1,
      {det(1, 2, {20, 0, 10, 10}, 0.3), det(1, 1, {0, 0, 10, 10}, 0.9), det(1, 1, {1, 0, 10, 10}, 0.8),
       det(1, 1, {20, 0, 10, 10}, 0.7), det(1, 1, {80, 80, 10, 10}, 0.6), det(1, 1, {5, 65, 10, 10}, 0.55)});
  QCOMPARE(matcher.iou(2, 0), 90.0 / 110.0);
  QCOMPARE(matcher.iou(5, 3), 1.0);

  MatchOptions o;  // score >= 0.5, IoU 0.5, all classes
  ImageMatch m = matcher.match(o);
  QCOMPARE(describe(m), QStringLiteral("1:tp,2:duplicate,3:wrong class,4:background,5:ignored"));
  QCOMPARE(m.true_positives, 1);
  QCOMPARE(m.false_positives, 3);
  QCOMPARE(m.ignored, 1);
  QCOMPARE(m.missed, (std::vector<std::size_t>{1, 2}));  // g1 and g2 (annotation indices)
  QCOMPARE(m.errors(), 5);
  QCOMPARE(m.quality(), 2.0 / 7.0);  // 2*1 / (2*1 + 3 + 2)
  // What each false positive is about.
  QCOMPARE(m.predictions[1].annotation, 0);  // the duplicate of g0
  QCOMPARE(m.predictions[1].iou, 90.0 / 110.0);
  QCOMPARE(m.predictions[2].annotation, 2);  // g2 of the other class
  QCOMPARE(m.predictions[3].annotation, -1);
  QCOMPARE(m.predictions[4].annotation, 3);  // the crowd

  o.score_threshold = 0.2;
  m = matcher.match(o);
  QCOMPARE(describe(m), QStringLiteral("1:tp,2:duplicate,3:wrong class,4:background,5:ignored,0:tp"));
  QCOMPARE(m.true_positives, 2);
  QCOMPARE(m.missed, (std::vector<std::size_t>{1}));
  QCOMPARE(m.quality(), 0.5);  // 4 / (4 + 3 + 1)

  o.score_threshold = 0.85;
  m = matcher.match(o);
  QCOMPARE(describe(m), QStringLiteral("1:tp"));
  QCOMPARE(m.missed_count(), 2);

  // Stricter IoU: d1 (0.818) no longer counts as overlapping g0, so it is background.
  o.score_threshold = 0.5;
  o.iou_threshold = 0.85;
  m = matcher.match(o);
  QCOMPARE(describe(m), QStringLiteral("1:tp,2:background,3:wrong class,4:background,5:ignored"));
}

void TestMatchPredictions::classFilterRestrictsBothSides() {
  const Dataset ds = dataset_with({box_ann(10, 1, 1, {0, 0, 10, 10}), box_ann(11, 1, 1, {50, 50, 10, 10}),
                                   box_ann(12, 1, 2, {20, 0, 10, 10})});
  const ImageMatcher matcher(
      ds, 1,
      {det(1, 1, {0, 0, 10, 10}, 0.9), det(1, 2, {20, 0, 10, 10}, 0.3), det(1, 1, {20, 0, 10, 10}, 0.7)});
  MatchOptions o;
  o.category_id = 2;
  ImageMatch m = matcher.match(o);
  // No class-b detection reaches 0.5: only g2 is missed; the class-a objects are not counted.
  QCOMPARE(describe(m), QString());
  QCOMPARE(m.missed, (std::vector<std::size_t>{2}));
  QCOMPARE(m.quality(), 0.0);
  o.score_threshold = 0.2;
  m = matcher.match(o);
  QCOMPARE(describe(m), QStringLiteral("1:tp"));
  QCOMPARE(m.missed_count(), 0);
  QCOMPARE(m.quality(), 1.0);
  // Class a: the class-a detection on g2 is still called wrong class (reasons look at every class).
  o.category_id = 1;
  m = matcher.match(o);
  QCOMPARE(describe(m), QStringLiteral("0:tp,2:wrong class"));
  QCOMPARE(m.missed, (std::vector<std::size_t>{1}));
}

// Greedy by score, as COCOeval: the .9 detection (IoU 0.6) takes g0 although the .8 one fits
// it exactly, which then is a duplicate.
void TestMatchPredictions::higherScoreTakesTheObjectFirst() {
  const Dataset ds = dataset_with({box_ann(10, 1, 1, {0, 0, 10, 10})});
  const ImageMatcher matcher(ds, 1, {det(1, 1, {0, 0, 10, 10}, 0.8), det(1, 1, {0, 0, 10, 6}, 0.9)});
  QCOMPARE(matcher.iou(1, 0), 0.6);
  const ImageMatch m = matcher.match({});
  QCOMPARE(describe(m), QStringLiteral("1:tp,0:duplicate"));
  QCOMPARE(m.predictions[0].iou, 0.6);
}

// A detection fitting both a real object and a crowd takes the real one; a second one then
// falls into the crowd (ignored), not counted as a duplicate.
void TestMatchPredictions::realObjectBeforeCrowd() {
  const Dataset ds =
      dataset_with({box_ann(10, 1, 1, {0, 0, 50, 50}, true), box_ann(11, 1, 1, {0, 0, 10, 10})});
  const ImageMatcher matcher(ds, 1, {det(1, 1, {0, 0, 10, 10}, 0.9), det(1, 1, {0, 0, 10, 10}, 0.8)});
  const ImageMatch m = matcher.match({});
  QCOMPARE(describe(m), QStringLiteral("0:tp,1:ignored"));
  QCOMPARE(m.predictions[0].annotation, 1);
  QCOMPARE(m.predictions[1].annotation, 0);
  QCOMPARE(m.true_positives, 1);
  QCOMPARE(m.false_positives, 0);
  QCOMPARE(m.missed_count(), 0);
}

// 4x4 image. Ground truth RLE: column 0 (4 px) + rows 0-1 of column 1 (2 px), box [0,0,2,4].
// Detection mask: column 0, box [0,0,1,4]. Mask IoU 4/6; box IoU would be 4/8.
// A polygon object covering columns 2-3 (8 px) against a mask of column 3: 4/8.
void TestMatchPredictions::maskIouWhenBothHaveMasks() {
  Dataset ds;
  ds.images.push_back({1, "m.png", 4, 4});
  ds.categories = {{1, "a", ""}};
  Annotation rle_gt = box_ann(1, 1, 1, {0, 0, 2, 4});
  rle_gt.rle = mask_of(4, 4, {{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 0}, {1, 1}});
  Annotation poly_gt = box_ann(2, 1, 1, {2, 0, 2, 4});
  poly_gt.polygons = {{2, 0, 4, 0, 4, 4, 2, 4}};
  ds.annotations = {rle_gt, poly_gt};
  ds.index();

  Detection masked = det(1, 1, {0, 0, 1, 4}, 0.9);
  masked.segm = mask_of(4, 4, {{0, 0}, {0, 1}, {0, 2}, {0, 3}});
  const Detection boxed = det(1, 1, {0, 0, 1, 4}, 0.8);
  Detection right = det(1, 1, {3, 0, 1, 4}, 0.7);
  right.segm = mask_of(4, 4, {{3, 0}, {3, 1}, {3, 2}, {3, 3}});
  const ImageMatcher matcher(ds, 1, {masked, boxed, right});
  QCOMPARE(matcher.iou(0, 0), 4.0 / 6.0);
  QCOMPARE(matcher.iou(1, 0), 0.5);  // no mask on the detection: boxes
  QCOMPARE(matcher.iou(2, 1), 0.5);  // the polygon rasterised to its 8 pixels
  QCOMPARE(matcher.iou(0, 1), 0.0);
  const ImageMatch m = matcher.match({});
  QCOMPARE(describe(m), QStringLiteral("0:tp,1:duplicate,2:tp"));
}

void TestMatchPredictions::difficultIsNeverMissed() {
  Annotation hard = box_ann(10, 1, 1, {0, 0, 10, 10});
  hard.difficult = true;
  const Dataset ds = dataset_with({hard});
  const ImageMatcher none(ds, 1, {});
  QCOMPARE(none.match({}).missed_count(), 0);
  QCOMPARE(none.match({}).quality(), 1.0);
  const ImageMatcher found(ds, 1, {det(1, 1, {0, 0, 10, 10}, 0.9)});
  QCOMPARE(describe(found.match({})), QStringLiteral("0:ignored"));
}

void TestMatchPredictions::emptyImageIsPerfect() {
  const Dataset ds = dataset_with({});
  const ImageMatcher empty(ds, 1, {});
  QCOMPARE(empty.match({}).quality(), 1.0);
  QCOMPARE(empty.match({}).errors(), 0);
  const ImageMatcher spurious(ds, 1, {det(1, 1, {0, 0, 10, 10}, 0.9)});
  QCOMPARE(describe(spurious.match({})), QStringLiteral("0:background"));
  QCOMPARE(spurious.match({}).quality(), 0.0);
}

void TestMatchPredictions::matchersPerImage() {
  const Dataset ds = dataset_with({box_ann(10, 1, 1, {0, 0, 10, 10}), box_ann(11, 2, 1, {0, 0, 10, 10})}, 3);
  const std::vector<Detection> dets{det(2, 1, {0, 0, 10, 10}, 0.9), det(1, 1, {50, 50, 10, 10}, 0.8),
                                    det(2, 1, {0, 0, 10, 10}, 0.7), det(7, 1, {0, 0, 10, 10}, 0.9)};
  std::size_t last_done = 0, last_total = 0;
  studio::Progress progress;
  progress.report = [&](std::size_t done, std::size_t total, const std::string&) {
    last_done = done;
    last_total = total;
  };
  const auto matchers = studio::make_image_matchers(ds, dets, progress);
  QCOMPARE(matchers.size(), std::size_t{3});
  QCOMPARE(last_done, std::size_t{3});
  QCOMPARE(last_total, std::size_t{3});
  QCOMPARE(matchers[0].image_id(), 1);
  QCOMPARE(matchers[0].detections().size(), std::size_t{1});
  QCOMPARE(matchers[1].detections().size(), std::size_t{2});
  QCOMPARE(matchers[2].detections().size(), std::size_t{0});
  QCOMPARE(describe(matchers[0].match({})), QStringLiteral("0:background"));
  QCOMPARE(describe(matchers[1].match({})), QStringLiteral("0:tp,1:duplicate"));
  QCOMPARE(matchers[1].annotations(), (std::vector<std::size_t>{1}));
}

QTEST_APPLESS_MAIN(TestMatchPredictions)
#include "test_match_predictions.moc"
