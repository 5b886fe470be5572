// COCO evaluation on small cases whose answers are worked out by hand from pycocotools' rules:
// ranking, crowd regions, area ranges (on the annotation's area), ties, maxDets, empty images and
// categories, bbox vs segm, and the printed summary.
#include <cfloat>

#include "common/error.h"
#include "data/rle.h"
#include "eval/coco_eval.h"
#include "test_support.h"

using studio::Annotation;
using studio::CocoEvalResult;
using studio::Dataset;
using studio::Detection;
using studio::IouType;
using studio::Rle;

namespace {

// A dataset of 100x100 images with the given ids and categories 1..ncat.
Dataset make_gt(const std::vector<std::int64_t>& image_ids, int ncat = 1) {
  Dataset ds;
  for (auto id : image_ids) ds.images.push_back({id, "im" + std::to_string(id) + ".png", 100, 100});
  for (int c = 1; c <= ncat; ++c) ds.categories.push_back({c, "c" + std::to_string(c), ""});
  return ds;
}

void add_gt(Dataset& ds, std::int64_t image, std::array<double, 4> box, bool crowd = false, double area = -1,
            std::int64_t cat = 1) {
  Annotation a;
  a.id = static_cast<std::int64_t>(ds.annotations.size()) + 1;
  a.image_id = image;
  a.category_id = cat;
  a.bbox = box;
  a.area = area >= 0 ? area : box[2] * box[3];
  a.iscrowd = crowd;
  ds.annotations.push_back(a);
}

Detection det(std::int64_t image, std::array<double, 4> box, double score, std::int64_t cat = 1) {
  Detection d;
  d.image_id = image;
  d.category_id = cat;
  d.bbox = box;
  d.score = score;
  d.area = box[2] * box[3];  // loadRes for bbox results
  return d;
}

CocoEvalResult run(Dataset& gt, const std::vector<Detection>& dt, IouType type = IouType::Bbox,
                   int threads = 1) {
  gt.index();
  return studio::evaluate_coco(gt, dt, type, {}, {}, threads);
}

constexpr double kTol = 1e-12;
// tp / (fp + tp + eps) for one TP before any FP: pycocotools' "1".
const double kOne = 1.0 / (1.0 + DBL_EPSILON);

}  // namespace

class TestCocoEval : public QObject {
  Q_OBJECT
 private slots:
  void params_as_numpy() {
    const studio::CocoEvalParams p;
    QCOMPARE(p.iou_thrs.size(), std::size_t{10});
    QCOMPARE(p.rec_thrs.size(), std::size_t{101});
    QCOMPARE(p.iou_thrs[0], 0.5);
    QCOMPARE(p.iou_thrs[5], 0.75);  // summarize() finds AP75 by ==
    QCOMPARE(p.iou_thrs[9], 0.95);
    QCOMPARE(p.iou_thrs[1], 0.5 + 1 * ((0.95 - 0.5) / 9));
    QCOMPARE(p.rec_thrs[50], 0.5);
    QCOMPARE(p.rec_thrs[100], 1.0);
  }

  void perfect_detections() {
    Dataset gt = make_gt({1, 2});
    add_gt(gt, 1, {10, 10, 20, 20});  // area 400: small
    add_gt(gt, 1, {50, 50, 40, 40});  // 1600: medium
    add_gt(gt, 2, {0, 0, 30, 30});    // 900: small
    std::vector<Detection> dt{det(1, {10, 10, 20, 20}, .9), det(1, {50, 50, 40, 40}, .8),
                              det(2, {0, 0, 30, 30}, .7)};
    const auto r = run(gt, dt);
    QVERIFY(std::abs(r.stats[0] - kOne) < kTol);
    QVERIFY(std::abs(r.stats[3] - kOne) < kTol);
    QVERIFY(std::abs(r.stats[4] - kOne) < kTol);
    QCOMPARE(r.stats[5], -1.0);  // no large gt
    QCOMPARE(r.stats[8], 1.0);
    QCOMPARE(r.stats[6], 2.0 / 3.0);  // AR@1: one detection per image, image 1 has two gt
    QCOMPARE(r.stats[11], -1.0);
  }

  void false_positive_ranked_first() {
    // Two gt; ranking TP(.9), FP(.8), TP(.7): rc = [.5 .5 1], pr = [1 .5 2/3] -> [1 2/3 2/3].
    // Recall thresholds 0..0.50 (51 of them) read index 0, the 50 above read index 2.
    Dataset gt = make_gt({1});
    add_gt(gt, 1, {0, 0, 20, 20});
    add_gt(gt, 1, {50, 50, 20, 20});
    std::vector<Detection> dt{det(1, {0, 0, 20, 20}, .9), det(1, {30, 0, 10, 10}, .8),
                              det(1, {50, 50, 20, 20}, .7)};
    const auto r = run(gt, dt);
    const double ap = (51 * kOne + 50 * (2.0 / 3.0)) / 101;
    QVERIFY2(std::abs(r.stats[0] - ap) < kTol, qPrintable(QString::number(r.stats[0], 'g', 17)));
    QVERIFY(std::abs(r.stats[1] - ap) < kTol);
    QCOMPARE(r.stats[8], 1.0);
    QCOMPARE(r.stats[6], 0.5);  // AR@1 keeps the .9 detection only
    QCOMPARE(r.precision_at(0, 100, 0, 0, 2), 2.0 / 3.0);
    QCOMPARE(r.scores[(((0 * 101 + 100) * 1 + 0) * 4 + 0) * 3 + 2], .7);
  }

  void crowd_absorbs_detections() {
    Dataset gt = make_gt({1});
    add_gt(gt, 1, {0, 0, 10, 10});
    add_gt(gt, 1, {50, 50, 40, 40}, true);
    // Three small boxes inside the crowd region rank above the TP: IoU with the crowd = 1 (the
    // detection's own area is the denominator), so they are ignored, not false positives. The
    // fourth lies half outside: 50 / 100 with the crowd -> matched at 0.50 only.
    std::vector<Detection> dt{det(1, {55, 55, 10, 10}, .9), det(1, {60, 60, 20, 10}, .85),
                              det(1, {70, 70, 10, 10}, .8), det(1, {0, 0, 10, 10}, .6),
                              det(1, {85, 60, 10, 10}, .95)};
    const auto r = run(gt, dt);
    // t = .5: all crowd detections ignored, AP 1. t >= .55: the .95 one is a FP ranked first ->
    // precision .5 at every recall threshold (only one non-ignored gt).
    const double ap50 = kOne, ap_hi = 1.0 / 2.0;
    QVERIFY(std::abs(r.stats[1] - ap50) < kTol);
    QVERIFY(std::abs(r.stats[0] - (ap50 + 9 * ap_hi) / 10) < kTol);
    QCOMPARE(r.stats[8], 1.0);  // crowd gt doesn't count in recall
  }

  void area_ranges_use_annotation_area() {
    Dataset gt = make_gt({1});
    // Box area 1600 (medium) but annotation area 900 (small): the range test reads 900.
    add_gt(gt, 1, {0, 0, 40, 40}, false, 900);
    // TP with box area 1600; an unmatched large detection (100x100 area 10000 ... kept to 60x60
    // = 3600, medium) ranked above it.
    std::vector<Detection> dt{det(1, {0, 0, 40, 40}, .5), det(1, {40, 40, 60, 60}, .9)};
    const auto r = run(gt, dt);
    QVERIFY(std::abs(r.stats[0] - 0.5) < kTol);   // all: FP then TP
    QVERIFY(std::abs(r.stats[3] - kOne) < kTol);  // small: matched TP counts although its area is
                                                  // 1600; the unmatched 3600 one is ignored
    QCOMPARE(r.stats[4], -1.0);                   // medium: gt ignored -> npig 0
    QCOMPARE(r.stats[5], -1.0);
    QCOMPARE(r.stats[9], 1.0);
    // Small gt, large unmatched detection only: in 'small' it is ignored -> precision 0, recall 0.
    Dataset gt2 = make_gt({1});
    add_gt(gt2, 1, {0, 0, 10, 10});
    const auto r2 = run(gt2, {det(1, {0, 0, 40, 40}, .9)});
    QCOMPARE(r2.stats[3], 0.0);
    QCOMPARE(r2.stats[9], 0.0);
    QCOMPARE(r2.stats[4], -1.0);
  }

  void score_ties_keep_order() {
    // Same score: file order inside an image, image id order across images.
    Dataset gt = make_gt({1});
    add_gt(gt, 1, {0, 0, 20, 20});
    const auto fp_first = run(gt, {det(1, {60, 60, 20, 20}, .5), det(1, {0, 0, 20, 20}, .5)});
    QVERIFY(std::abs(fp_first.stats[0] - 0.5) < kTol);
    const auto tp_first = run(gt, {det(1, {0, 0, 20, 20}, .5), det(1, {60, 60, 20, 20}, .5)});
    QVERIFY(std::abs(tp_first.stats[0] - kOne) < kTol);

    Dataset gt3 = make_gt({3, 1, 2});  // listed unsorted: evaluation order is 1, 2, 3
    add_gt(gt3, 2, {0, 0, 20, 20});
    const auto before = run(gt3, {det(2, {0, 0, 20, 20}, .5), det(1, {0, 0, 20, 20}, .5)});
    QVERIFY(std::abs(before.stats[0] - 0.5) < kTol);  // image 1's FP comes first
    const auto after = run(gt3, {det(2, {0, 0, 20, 20}, .5), det(3, {0, 0, 20, 20}, .5)});
    QVERIFY(std::abs(after.stats[0] - kOne) < kTol);
  }

  void max_dets_truncation() {
    Dataset gt = make_gt({1});
    add_gt(gt, 1, {0, 0, 20, 20});
    std::vector<Detection> dt;
    for (int j = 0; j < 10; ++j) dt.push_back(det(1, {50, 50, 10, 10}, .9 - .01 * j));
    dt.push_back(det(1, {0, 0, 20, 20}, .5));  // the 11th
    const auto r = run(gt, dt);
    QCOMPARE(r.stats[6], 0.0);
    QCOMPARE(r.stats[7], 0.0);
    QCOMPARE(r.stats[8], 1.0);
    QVERIFY(std::abs(r.stats[0] - 1.0 / 11.0) < kTol);  // pr = 1/11 everywhere after the fill
    // Beyond maxDets[-1] = 100 a detection is never looked at.
    for (int j = 0; j < 90; ++j) dt.insert(dt.begin(), det(1, {50, 50, 10, 10}, .95));
    const auto r2 = run(gt, dt);
    QCOMPARE(r2.stats[8], 0.0);
    QCOMPARE(r2.stats[0], 0.0);
  }

  void images_without_gt_or_detections() {
    // Image 2: a FP and no gt; image 3: a gt and no detection. Ranking FP(.9), TP(.8), npig = 2:
    // rc = [0 .5], pr = [0 .5] -> [.5 .5]; recall thresholds 0..0.5 read .5, the rest 0.
    Dataset gt = make_gt({1, 2, 3});
    add_gt(gt, 1, {0, 0, 20, 20});
    add_gt(gt, 3, {0, 0, 20, 20});
    const auto r = run(gt, {det(2, {0, 0, 20, 20}, .9), det(1, {0, 0, 20, 20}, .8)});
    QCOMPARE(r.stats[0], 51 * 0.5 / 101);
    QCOMPARE(r.stats[8], 0.5);
    STUDIO_EXPECT_ERROR((void)run(gt, {det(9, {0, 0, 1, 1}, .5)}), "9");
  }

  void categories_without_gt() {
    Dataset gt = make_gt({1}, 3);
    add_gt(gt, 1, {0, 0, 20, 20}, false, -1, 1);
    const auto r = run(gt, {det(1, {0, 0, 20, 20}, .9, 1), det(1, {0, 0, 20, 20}, .8, 2)});
    QCOMPARE(r.K(), std::size_t{3});
    QVERIFY(std::abs(r.stats[0] - kOne) < kTol);  // categories 2 and 3 are -1, left out
    QCOMPARE(r.precision_at(0, 0, 1, 0, 2), -1.0);
    QCOMPARE(r.precision_at(0, 0, 2, 0, 2), -1.0);
    QCOMPARE(r.recall_at(0, 1, 0, 2), -1.0);
    // No detection at all for a category with gt: recall 0 (not -1), precision 0.
    const auto none = run(gt, {});
    QCOMPARE(none.recall_at(0, 0, 0, 2), 0.0);
    QCOMPARE(none.stats[0], 0.0);
  }

  void bbox_vs_segm() {
    // Triangle gt; the detection's mask equals it (segm IoU 1) but its box is shifted by 8 px:
    // box IoU 32*40 / (3200 - 1280) = 2/3 -> TP at .50 .55 .60 .65 only.
    Dataset gt = make_gt({1});
    Annotation a;
    a.id = 1;
    a.image_id = 1;
    a.category_id = 1;
    a.polygons = {{0, 0, 40, 0, 0, 40}};
    const Rle mask = studio::rle_from_polygons(a.polygons, 100, 100);
    a.area = static_cast<double>(studio::rle_area(mask));
    a.bbox = {0, 0, 40, 40};
    gt.annotations.push_back(a);
    Detection d = det(1, {8, 0, 40, 40}, .9);
    d.segm = mask;
    const auto rb = run(gt, {d}, IouType::Bbox);
    QVERIFY(std::abs(rb.stats[0] - 0.4 * kOne) < kTol);
    QVERIFY(std::abs(rb.stats[1] - kOne) < kTol);
    QCOMPARE(rb.stats[2], 0.0);
    d.bbox = studio::rle_bbox(mask);
    d.area = a.area;
    const auto rs = run(gt, {d}, IouType::Segm);
    QVERIFY(std::abs(rs.stats[0] - kOne) < kTol);
    Detection no_mask = det(1, {0, 0, 40, 40}, .5);
    STUDIO_EXPECT_ERROR((void)run(gt, {no_mask}, IouType::Segm), "segmentation");
  }

  void four_number_polygons_are_boxes() {
    // pycocotools' frPyObjects reads a polygon list whose first entry has 4 numbers as boxes
    // [x, y, w, h]: gt [[10, 10, 20, 20]] is the square 10..30, so a detection with exactly that
    // square mask scores IoU 1 (as a 2-point polygon it would be an empty mask, IoU 0).
    Dataset gt = make_gt({1});
    Annotation a;
    a.id = 1;
    a.image_id = 1;
    a.category_id = 1;
    a.polygons = {{10, 10, 20, 20}};
    a.bbox = {10, 10, 20, 20};
    a.area = 400;
    gt.annotations.push_back(a);
    Detection d = det(1, {10, 10, 20, 20}, .9);
    d.segm = studio::rle_from_polygon({10, 10, 10, 30, 30, 30, 30, 10}, 100, 100);
    QCOMPARE(studio::rle_area(*d.segm), std::uint64_t{400});
    const auto r = run(gt, {d}, IouType::Segm);
    QVERIFY(std::abs(r.stats[0] - kOne) < kTol);
  }

  void threads_do_not_change_results() {
    Dataset gt = make_gt({1, 2, 3, 4, 5, 6, 7, 8}, 2);
    std::vector<Detection> dt;
    for (int i = 1; i <= 8; ++i)
      for (int j = 0; j < 6; ++j) {
        const double x = 10.0 * j;
        add_gt(gt, i, {x, x, 15, 15.0 + j}, j == 5, -1, 1 + j % 2);
        dt.push_back(
            det(i, {x + (i % 3), x + 1, 15, 14.0 + j}, 0.1 * ((i * 7 + j * 3) % 10), 1 + (j + i) % 2));
      }
    const auto r1 = run(gt, dt, IouType::Bbox, 1);
    const auto r4 = run(gt, dt, IouType::Bbox, 4);
    QVERIFY(r1.precision == r4.precision);
    QVERIFY(r1.recall == r4.recall);
    QVERIFY(r1.stats == r4.stats);
  }

  void summary_text() {
    Dataset gt = make_gt({1});
    add_gt(gt, 1, {0, 0, 20, 20});
    const auto r = run(gt, {det(1, {0, 0, 20, 20}, .9)});
    const std::string s = studio::format_summary(r);
    const std::string first =
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000\n";
    QCOMPARE(s.substr(0, first.size()), first);
    QVERIFY(studio::test::contains(
        s, " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 1.000\n"));
    QVERIFY(studio::test::contains(
        s, " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000\n"));
    QVERIFY(studio::test::contains(
        s, " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 1.000\n"));
    QCOMPARE(static_cast<int>(std::count(s.begin(), s.end(), '\n')), 12);
    QCOMPARE(std::string(studio::summary_names()[8]), std::string("AR100"));
  }

  void cancel() {
    Dataset gt = make_gt({1});
    add_gt(gt, 1, {0, 0, 20, 20});
    gt.index();
    std::atomic<bool> stop{true};
    studio::Progress p;
    p.cancel = &stop;
    QVERIFY_EXCEPTION_THROWN(
        (void)studio::evaluate_coco(gt, {det(1, {0, 0, 20, 20}, .9)}, IouType::Bbox, {}, p),
        studio::Cancelled);
  }
};

QTEST_APPLESS_MAIN(TestCocoEval)
#include "test_coco_eval.moc"
