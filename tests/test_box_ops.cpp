// The box ops (box_iou, box_area, clipping, small-box removal), NMS and batched NMS, and the box
// coder (core/modeling/ops/{box_ops,nms,box_coder}), each against a plain, slow float64 reference
// written here with double loops, on random inputs, plus cases computed by hand.
// Parity with torchvision itself is tests/test_detection_ops_torchvision.cpp.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

#include "common/error.h"
#include "detection_ops_support.h"
#include "modeling/ops/box_coder/box_coder.h"
#include "modeling/ops/box_ops/box_ops.h"
#include "modeling/ops/nms/nms.h"
#include "test_support.h"

using namespace studio;
using namespace studio::test;

namespace {

double iou_ref(const Box& a, const Box& b) {
  const double w = std::max(0.0, std::min(a[2], b[2]) - std::max(a[0], b[0]));
  const double h = std::max(0.0, std::min(a[3], b[3]) - std::max(a[1], b[1]));
  const double inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

// Greedy NMS in double over `members`, visiting by score (scores distinct in the random tests).
std::vector<int64_t> nms_ref(const std::vector<Box>& boxes, const std::vector<double>& scores,
                             std::vector<int64_t> members, double thr) {
  std::stable_sort(members.begin(), members.end(),
                   [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  std::vector<int64_t> keep;
  for (int64_t i : members) {
    bool suppressed = false;
    for (int64_t k : keep) suppressed = suppressed || iou_ref(boxes[k], boxes[i]) > thr;
    if (!suppressed) keep.push_back(i);
  }
  return keep;
}

}  // namespace

class TestBoxOps : public QObject {
  Q_OBJECT

 private slots:
  // ---------------------------------------------------------------- box ops
  void box_ops_hand_computed() {
    // a = [0,0,2,2] (area 4), b = [1,1,3,3] (4): intersection 1, union 7. c = [0,0,2,1] (2) and
    // a: intersection 2, union 4 -> 0.5. d far away -> 0.
    torch::Tensor a = torch::tensor({0.f, 0.f, 2.f, 2.f, 0.f, 0.f, 2.f, 1.f}).view({2, 4});
    torch::Tensor b =
        torch::tensor({1.f, 1.f, 3.f, 3.f, 10.f, 10.f, 11.f, 12.f, 0.f, 0.f, 2.f, 2.f}).view({3, 4});
    torch::Tensor iou = box_iou(a, b);
    QCOMPARE(iou.sizes().vec(), (std::vector<int64_t>{2, 3}));
    QCOMPARE(iou[0][0].item<float>(), 1.f / 7.f);
    QCOMPARE(iou[0][1].item<float>(), 0.f);
    QCOMPARE(iou[0][2].item<float>(), 1.f);
    QCOMPARE(iou[1][2].item<float>(), 0.5f);
    QCOMPARE(iou[1][0].item<float>(), 0.f);  // c and b touch along y = 1: zero-height intersection
    QVERIFY(torch::equal(box_area(b), torch::tensor({4.f, 2.f, 4.f})));
    // Clipping to 80 (h) x 100 (w): x to [0, 100], y to [0, 80], also for [..., 4] batches.
    torch::Tensor wild = torch::tensor({-5.f, -1.f, 120.f, 90.f, 10.f, 20.f, 30.f, 40.f}).view({1, 2, 4});
    QVERIFY(torch::equal(clip_boxes_to_image(wild, 80, 100),
                         torch::tensor({0.f, 0.f, 100.f, 80.f, 10.f, 20.f, 30.f, 40.f}).view({1, 2, 4})));
    // Sides (2, 2), (1, 2), (0.5, 3), (3, 0): min_size 1 keeps 0 and 1 (>= counts), 1e-2 keeps 0-2.
    torch::Tensor s =
        torch::tensor({0.f, 0.f, 2.f, 2.f, 0.f, 0.f, 1.f, 2.f, 0.f, 0.f, 0.5f, 3.f, 0.f, 0.f, 3.f, 0.f})
            .view({4, 4});
    QCOMPARE(to_ints(remove_small_boxes(s, 1.0)), (std::vector<int64_t>{0, 1}));
    QCOMPARE(to_ints(remove_small_boxes(s, 1e-2)), (std::vector<int64_t>{0, 1, 2}));
    STUDIO_EXPECT_ERROR((void)box_iou(torch::zeros({3, 5}), a), "box_iou", "[N, 4]");
  }

  void box_iou_matches_reference() {
    torch::manual_seed(11);
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      torch::Tensor b1 = random_boxes(37, 100, 0.5, 50, dtype), b2 = random_boxes(23, 100, 0.5, 50, dtype);
      torch::Tensor got = box_iou(b1, b2);
      QCOMPARE(got.scalar_type(), dtype);
      auto x = to_boxes(b1), y = to_boxes(b2);
      double worst = 0;
      for (size_t i = 0; i < x.size(); ++i)
        for (size_t j = 0; j < y.size(); ++j)
          worst = std::max(worst, std::abs(got[i][j].item<double>() - iou_ref(x[i], y[j])));
      QVERIFY2(worst < (dtype == torch::kDouble ? 1e-14 : 1e-6), qPrintable(QString::number(worst)));
    }
  }

  // ---------------------------------------------------------------- nms
  void nms_hand_computed() {
    // Scores 0.9, 0.8, 0.7, 0.6. Box 1 overlaps box 0 with IoU exactly 0.5 ([0,0,2,1] vs [0,0,2,2]):
    // kept at threshold 0.5 (suppression needs IoU > thr), dropped at 0.49. Box 2 is a copy of
    // box 0 (IoU 1): always dropped. Box 3 is disjoint: always kept.
    torch::Tensor boxes =
        torch::tensor({0.f, 0.f, 2.f, 2.f, 0.f, 0.f, 2.f, 1.f, 0.f, 0.f, 2.f, 2.f, 5.f, 5.f, 6.f, 6.f})
            .view({4, 4});
    torch::Tensor scores = torch::tensor({0.9f, 0.8f, 0.7f, 0.6f});
    QCOMPARE(to_ints(nms(boxes, scores, 0.5)), (std::vector<int64_t>{0, 1, 3}));
    QCOMPARE(to_ints(nms(boxes, scores, 0.49)), (std::vector<int64_t>{0, 3}));
    // Reversed scores: box 3 first, then box 2 (suppresses 0; 1 has IoU 0.5 with 2).
    QCOMPARE(to_ints(nms(boxes, torch::tensor({0.6f, 0.7f, 0.8f, 0.9f}), 0.5)),
             (std::vector<int64_t>{3, 2, 1}));
    // batched: box 2 in another category survives box 0; the offsets keep the categories apart.
    torch::Tensor idxs = torch::tensor({0, 0, 1, 0}, torch::kLong);
    QCOMPARE(to_ints(batched_nms(boxes, scores, idxs, 0.5)), (std::vector<int64_t>{0, 1, 2, 3}));
    QCOMPARE(to_ints(batched_nms(boxes, scores, idxs, 0.49)), (std::vector<int64_t>{0, 2, 3}));
    // Equal scores: visited in index order (torchvision's stable sort), so box 0 suppresses its
    // copy 2 whichever order the scores would allow, and with 0 and 2 swapped box 0 still wins.
    QCOMPARE(to_ints(nms(boxes, torch::tensor({0.5f, 0.1f, 0.5f, 0.5f}), 0.5)),
             (std::vector<int64_t>{0, 3, 1}));
    QCOMPARE(nms(torch::zeros({0, 4}), torch::zeros({0}), 0.5).numel(), 0);
    QCOMPARE(
        batched_nms(torch::zeros({0, 4}), torch::zeros({0}), torch::zeros({0}, torch::kLong), 0.5).numel(),
        0);
    STUDIO_EXPECT_ERROR((void)nms(boxes, torch::zeros({3}), 0.5), "nms", "scores [N]");
  }

  void nms_matches_reference_data() {
    QTest::addColumn<int>("seed");
    QTest::addColumn<bool>("is_double");
    QTest::addColumn<double>("threshold");
    for (int seed : {1, 2, 3})
      for (bool d : {false, true})
        for (double thr : {0.3, 0.5, 0.7})
          QTest::newRow(qPrintable(QString("seed %1 %2 thr %3").arg(seed).arg(d ? "f64" : "f32").arg(thr)))
              << seed << d << thr;
  }
  void nms_matches_reference() {
    QFETCH(int, seed);
    QFETCH(bool, is_double);
    QFETCH(double, threshold);
    torch::manual_seed(seed);
    const auto dtype = is_double ? torch::kDouble : torch::kFloat;
    const int64_t n = 400;
    torch::Tensor boxes = random_boxes(n, 200, 5, 60, dtype);
    torch::Tensor scores = torch::randperm(n, torch::kLong).to(dtype) / n;  // distinct: the order is defined
    std::vector<int64_t> all(n);
    std::iota(all.begin(), all.end(), 0);
    std::vector<double> s(n);
    for (int64_t i = 0; i < n; ++i) s[i] = scores[i].item<double>();
    std::vector<int64_t> want = nms_ref(to_boxes(boxes), s, all, threshold);
    std::vector<int64_t> got = to_ints(nms(boxes, scores, threshold));
    QCOMPARE(got, want);
    QVERIFY(got.size() < static_cast<size_t>(n) && got.size() > 10);  // it suppressed, and kept
  }

  void batched_nms_matches_reference_data() {
    QTest::addColumn<int>("n");
    QTest::newRow("500: coordinate offsets") << 500;
    QTest::newRow("1500: one nms per category") << 1500;
  }
  void batched_nms_matches_reference() {
    QFETCH(int, n);
    torch::manual_seed(n);
    torch::Tensor boxes = random_boxes(n, 300, 5, 80, torch::kDouble);
    torch::Tensor scores = torch::randperm(n, torch::kLong).to(torch::kDouble) / n;
    torch::Tensor idxs = torch::randint(0, 6, {n}, torch::kLong);
    auto b = to_boxes(boxes);
    std::vector<double> s(n);
    for (int64_t i = 0; i < n; ++i) s[i] = scores[i].item<double>();
    auto cat = to_ints(idxs);
    std::vector<int64_t> want;
    for (int64_t c = 0; c < 6; ++c) {
      std::vector<int64_t> members;
      for (int64_t i = 0; i < n; ++i)
        if (cat[i] == c) members.push_back(i);
      auto kept = nms_ref(b, s, members, 0.5);
      want.insert(want.end(), kept.begin(), kept.end());
    }
    std::stable_sort(want.begin(), want.end(), [&](int64_t x, int64_t y) { return s[x] > s[y]; });
    QCOMPARE(to_ints(batched_nms(boxes, scores, idxs, 0.5)), want);
  }

  // ---------------------------------------------------------------- box coder
  void box_coder_hand_computed() {
    // Anchor [0,0,10,20]: w 10, h 20, centre (5, 10). GT [5,0,25,20]: w 20, h 20, centre (15, 10).
    // Weights (10,10,5,5): dx = 10 * 10/10 = 10, dy = 0, dw = 5 log 2, dh = 0.
    BoxCoder coder({10, 10, 5, 5});
    torch::Tensor anchor = torch::tensor({0.f, 0.f, 10.f, 20.f}).view({1, 4});
    torch::Tensor gt = torch::tensor({5.f, 0.f, 25.f, 20.f}).view({1, 4});
    torch::Tensor d = coder.encode(gt, anchor);
    QVERIFY(max_abs_diff(d, torch::tensor({10.0, 0.0, 5 * std::log(2.0), 0.0}).view({1, 4})) < 1e-6);
    QVERIFY(max_abs_diff(coder.decode_single(d, anchor), gt) < 1e-5);
    // dw far beyond the clamp: w = 10 exp(log(1000/16)) = 625, centred at 5.
    torch::Tensor big = torch::tensor({0.f, 0.f, 50.f, 0.f}).view({1, 4});  // dw / 5 = 10 > 4.135
    torch::Tensor wide = coder.decode_single(big, anchor);
    QVERIFY(max_abs_diff(wide, torch::tensor({5 - 312.5, 0.0, 5 + 312.5, 20.0}).view({1, 4})) < 1e-3);
    // Class-specific deltas [N, K*4] -> decode [N, K, 4].
    QCOMPARE(coder.decode(torch::zeros({1, 12}), anchor).sizes().vec(), (std::vector<int64_t>{1, 3, 4}));
    STUDIO_EXPECT_ERROR(BoxCoder({1, 0, 1, 1}), "BoxCoder", "positive");
  }

  void box_coder_matches_reference() {
    torch::manual_seed(12);
    const std::array<double, 4> w{10, 10, 5, 5};
    const double clip = std::log(1000.0 / 16);
    BoxCoder coder(w);
    torch::Tensor props = random_boxes(60, 300, 2, 100, torch::kDouble);
    torch::Tensor gts = random_boxes(60, 300, 2, 100, torch::kDouble);
    torch::Tensor deltas = torch::randn({60, 8}, torch::kDouble) * 3;
    torch::Tensor enc = coder.encode(gts, props), dec = coder.decode_single(deltas, props);
    auto p = to_boxes(props), g = to_boxes(gts);
    for (int64_t i = 0; i < 60; ++i) {
      const double pw = p[i][2] - p[i][0], ph = p[i][3] - p[i][1];
      const double px = p[i][0] + 0.5 * pw, py = p[i][1] + 0.5 * ph;
      const double gw = g[i][2] - g[i][0], gh = g[i][3] - g[i][1];
      const double want[4] = {w[0] * (g[i][0] + 0.5 * gw - px) / pw, w[1] * (g[i][1] + 0.5 * gh - py) / ph,
                              w[2] * std::log(gw / pw), w[3] * std::log(gh / ph)};
      for (int k = 0; k < 4; ++k) QVERIFY(std::abs(enc[i][k].item<double>() - want[k]) < 1e-12);
      for (int64_t c = 0; c < 2; ++c) {
        const double dx = deltas[i][4 * c].item<double>() / w[0],
                     dy = deltas[i][4 * c + 1].item<double>() / w[1];
        const double dw = std::min(deltas[i][4 * c + 2].item<double>() / w[2], clip);
        const double dh = std::min(deltas[i][4 * c + 3].item<double>() / w[3], clip);
        const double cx = dx * pw + px, cy = dy * ph + py, ww = std::exp(dw) * pw, hh = std::exp(dh) * ph;
        const double box[4] = {cx - 0.5 * ww, cy - 0.5 * hh, cx + 0.5 * ww, cy + 0.5 * hh};
        for (int k = 0; k < 4; ++k) QVERIFY(std::abs(dec[i][4 * c + k].item<double>() - box[k]) < 1e-9);
      }
    }
    // Round trip.
    QVERIFY(max_abs_diff(coder.decode_single(enc, props), gts) < 1e-9);
  }
};

QTEST_APPLESS_MAIN(TestBoxOps)
#include "test_box_ops.moc"
