// VOC mAP on cases computed by hand: duplicates, difficult objects, both AP rules, the IoU
// boundary, and classes without ground truth.
#include <cmath>

#include "eval/voc_eval.h"
#include "test_support.h"

using namespace studio;

namespace {

Annotation box(std::int64_t image, std::int64_t cat, std::array<double, 4> b, bool difficult = false) {
  Annotation a;
  a.image_id = image;
  a.category_id = cat;
  a.bbox = b;
  a.difficult = difficult;
  return a;
}

Detection det(std::int64_t image, std::int64_t cat, std::array<double, 4> b, double score) {
  Detection d;
  d.image_id = image;
  d.category_id = cat;
  d.bbox = b;
  d.score = score;
  d.area = b[2] * b[3];
  return d;
}

// cat: A and B found, one duplicate, one miss, one hit on a difficult object (see the test).
// dog: no ground truth. bird: 3 of 10 objects found, all at precision 1.
struct Case {
  Dataset gt;
  std::vector<Detection> dt;
  Case() {
    gt.images = {{1, "1.jpg", 100, 100}, {2, "2.jpg", 100, 100}, {3, "3.jpg", 300, 100}};
    gt.categories = {{1, "cat", ""}, {2, "dog", ""}, {3, "bird", ""}};
    gt.annotations = {box(1, 1, {0, 0, 10, 10}), box(1, 1, {50, 50, 10, 10}, true),
                      box(2, 1, {0, 0, 10, 10})};
    for (int j = 0; j < 10; ++j) gt.annotations.push_back(box(3, 3, {20.0 * j, 0, 10, 10}));
    gt.index();
    dt = {det(1, 1, {0, 0, 10, 10}, 0.9),   det(1, 1, {0, 0, 10, 10}, 0.8),  // TP, duplicate FP
          det(1, 1, {50, 50, 10, 10}, 0.7), det(2, 1, {20, 20, 5, 5}, 0.6),  // difficult, FP
          det(2, 1, {0, 0, 10, 10}, 0.5),   det(1, 2, {0, 0, 10, 10}, 0.9),  // TP; dog
          det(3, 3, {0, 0, 10, 10}, 0.9),   det(3, 3, {20, 0, 10, 10}, 0.8), det(3, 3, {40, 0, 10, 10}, 0.7)};
  }
};

}  // namespace

class TestVocEval : public QObject {
  Q_OBJECT

 private slots:
  void area_rule() {
    const Case c;
    const VocEvalResult r = evaluate_voc(c.gt, c.dt, VocApMethod::Area);
    QCOMPARE(r.classes.size(), std::size_t{3});
    const VocClassAp& cat = r.classes[0];
    QCOMPARE(cat.name, std::string("cat"));
    QCOMPARE(cat.gt_count, std::size_t{2});  // the difficult one doesn't count
    QCOMPARE(cat.detections, std::size_t{5});
    // The detection on the difficult object is left out of the curve.
    QCOMPARE(cat.recall, (std::vector<double>{0.5, 0.5, 0.5, 1.0}));
    QCOMPARE(cat.precision, (std::vector<double>{1.0, 0.5, 1.0 / 3.0, 0.5}));
    // Envelope [1, .5, .5, .5]: 0.5 * 1 + 0.5 * 0.5.
    QCOMPARE(cat.ap, 0.75);
    QCOMPARE(r.classes[1].ap, -1.0);  // dog: no ground truth, not in the mean
    QCOMPARE(r.classes[1].detections, std::size_t{1});
    QVERIFY(std::fabs(r.classes[2].ap - 0.3) < 1e-12);
    QVERIFY(std::fabs(r.map - (0.75 + 0.3) / 2) < 1e-12);
  }

  void eleven_point_rule() {
    const Case c;
    const VocEvalResult r = evaluate_voc(c.gt, c.dt, VocApMethod::Points11);
    QCOMPARE(r.method, VocApMethod::Points11);
    // cat: precision 1 for t = 0 .. 0.5, then 0.5 for t = 0.6 .. 1.
    QVERIFY(std::fabs(r.classes[0].ap - 8.5 / 11) < 1e-12);
    // bird: recall 3/10 lies below voc_eval.py's third threshold 3 * 0.1 = 0.30000000000000004,
    // so only t = 0, 0.1, 0.2 see precision 1.
    QVERIFY(std::fabs(r.classes[2].ap - 3.0 / 11) < 1e-12);
    QVERIFY(std::fabs(r.map - (8.5 / 11 + 3.0 / 11) / 2) < 1e-12);
  }

  void iou_boundary_and_threshold() {
    Dataset gt;
    gt.images = {{1, "1.jpg", 100, 100}};
    gt.categories = {{1, "cat", ""}};
    gt.annotations = {box(1, 1, {0, 0, 10, 10})};
    gt.index();
    // IoU exactly 0.5 matches (the devkit's >=).
    QCOMPARE(evaluate_voc(gt, {det(1, 1, {0, 0, 10, 5}, 1)}).classes[0].ap, 1.0);
    QCOMPARE(evaluate_voc(gt, {det(1, 1, {0, 0, 10, 4.9}, 1)}).classes[0].ap, 0.0);
    QCOMPARE(evaluate_voc(gt, {det(1, 1, {0, 0, 10, 4.9}, 1)}, VocApMethod::Area, 0.4).classes[0].ap, 1.0);
    // A false positive ranked above the hit halves the precision at full recall.
    QCOMPARE(evaluate_voc(gt, {det(1, 1, {0, 0, 10, 10}, 0.5), det(1, 1, {60, 60, 5, 5}, 0.9)}).map, 0.5);
    // Nothing detected: AP 0.
    QCOMPARE(evaluate_voc(gt, {}).map, 0.0);
  }

  void equal_scores_keep_file_order() {
    Dataset gt;
    gt.images = {{1, "1.jpg", 100, 100}};
    gt.categories = {{1, "cat", ""}};
    gt.annotations = {box(1, 1, {0, 0, 10, 10})};
    gt.index();
    // Same score: the first in the file is ranked first (stable sort), so the FP comes first here.
    const auto r = evaluate_voc(gt, {det(1, 1, {60, 60, 5, 5}, 0.5), det(1, 1, {0, 0, 10, 10}, 0.5)});
    QCOMPARE(r.classes[0].precision, (std::vector<double>{0.0, 0.5}));
  }

  void formats_a_table() {
    const Case c;
    const std::string text = format_voc(evaluate_voc(c.gt, c.dt));
    QVERIFY2(test::contains(text, "cat"), text.c_str());
    QVERIFY2(test::contains(text, "0.7500"), text.c_str());
    QVERIFY2(test::contains(text, "mAP"), text.c_str());
    QVERIFY2(test::contains(text, "0.5250"), text.c_str());
  }
};

QTEST_APPLESS_MAIN(TestVocEval)
#include "test_voc_eval.moc"
