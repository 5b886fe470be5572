// The detection ops Mask R-CNN needs (core/modeling/ops/*), each against a plain, slow float64
// reference written here with double loops, on random inputs, plus cases computed by hand.
// Parity with torchvision itself is tests/test_detection_ops_torchvision.cpp.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

#include "common/error.h"
#include "modeling/ops/anchor_generator/anchor_generator.h"
#include "modeling/ops/balanced_sampler/balanced_sampler.h"
#include "modeling/ops/box_coder/box_coder.h"
#include "modeling/ops/box_ops/box_ops.h"
#include "modeling/ops/matcher/matcher.h"
#include "modeling/ops/multi_scale_roi_align/multi_scale_roi_align.h"
#include "modeling/ops/nms/nms.h"
#include "modeling/ops/paste_masks/paste_masks.h"
#include "modeling/ops/roi_align/roi_align.h"
#include "test_support.h"

using namespace studio;

namespace {

using Box = std::array<double, 4>;

std::vector<Box> to_boxes(const torch::Tensor& t) {
  torch::Tensor d = t.to(torch::kDouble).contiguous();
  auto a = d.accessor<double, 2>();
  std::vector<Box> out(static_cast<size_t>(d.size(0)));
  for (int64_t i = 0; i < d.size(0); ++i) out[i] = {a[i][0], a[i][1], a[i][2], a[i][3]};
  return out;
}

std::vector<int64_t> to_ints(const torch::Tensor& t) {
  torch::Tensor l = t.to(torch::kLong).contiguous();
  return std::vector<int64_t>(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
}

// Random boxes [n, 4] with corners in [0, extent) and sides in [min_size, max_size].
torch::Tensor random_boxes(int64_t n, double extent, double min_size, double max_size,
                           torch::ScalarType dtype = torch::kFloat) {
  torch::Tensor xy = torch::rand({n, 2}, torch::kDouble) * extent;
  torch::Tensor wh = min_size + torch::rand({n, 2}, torch::kDouble) * (max_size - min_size);
  return torch::cat({xy, xy + wh}, 1).to(dtype);
}

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

// Bilinear sample on a [H, W] double plane with RoIAlign's border rules, written from the
// definition (clamping the coordinate, not the neighbours).
double bilinear_ref(const std::vector<double>& plane, int64_t h, int64_t w, double y, double x) {
  if (y < -1.0 || y > h || x < -1.0 || x > w) return 0.0;
  y = std::max(y, 0.0);
  x = std::max(x, 0.0);
  int64_t y0 = static_cast<int64_t>(y), x0 = static_cast<int64_t>(x);
  int64_t y1 = y0 + 1, x1 = x0 + 1;
  if (y0 >= h - 1) {
    y0 = y1 = h - 1;
    y = static_cast<double>(y0);
  }
  if (x0 >= w - 1) {
    x0 = x1 = w - 1;
    x = static_cast<double>(x0);
  }
  const double ly = y - y0, lx = x - x0;
  auto at = [&](int64_t yy, int64_t xx) { return plane[yy * w + xx]; };
  return (1 - ly) * (1 - lx) * at(y0, x0) + (1 - ly) * lx * at(y0, x1) + ly * (1 - lx) * at(y1, x0) +
         ly * lx * at(y1, x1);
}

// RoIAlign of one RoI on one [H, W] plane, in double.
std::vector<double> roi_align_ref(const std::vector<double>& plane, int64_t h, int64_t w, const Box& box,
                                  const RoIAlignOptions& o) {
  const double off = o.aligned ? 0.5 : 0.0;
  const double sx = box[0] * o.spatial_scale - off, sy = box[1] * o.spatial_scale - off;
  double rw = box[2] * o.spatial_scale - off - sx, rh = box[3] * o.spatial_scale - off - sy;
  if (!o.aligned) {
    rw = std::max(rw, 1.0);
    rh = std::max(rh, 1.0);
  }
  const int64_t ph_n = o.output_size[0], pw_n = o.output_size[1];
  const double bh = rh / ph_n, bw = rw / pw_n;
  const int64_t gh = o.sampling_ratio > 0 ? o.sampling_ratio : static_cast<int64_t>(std::ceil(rh / ph_n));
  const int64_t gw = o.sampling_ratio > 0 ? o.sampling_ratio : static_cast<int64_t>(std::ceil(rw / pw_n));
  std::vector<double> out(static_cast<size_t>(ph_n * pw_n), 0.0);
  for (int64_t ph = 0; ph < ph_n; ++ph)
    for (int64_t pw = 0; pw < pw_n; ++pw) {
      double sum = 0;
      for (int64_t iy = 0; iy < gh; ++iy)
        for (int64_t ix = 0; ix < gw; ++ix)
          sum += bilinear_ref(plane, h, w, sy + ph * bh + (iy + 0.5) * bh / gh,
                              sx + pw * bw + (ix + 0.5) * bw / gw);
      out[ph * pw_n + pw] = sum / std::max<int64_t>(gh * gw, 1);
    }
  return out;
}

// RoIAlign of all RoIs, [K, C, PH, PW] double, from the per-plane reference.
torch::Tensor roi_align_ref_all(const torch::Tensor& input, const torch::Tensor& rois,
                                const RoIAlignOptions& o) {
  torch::Tensor in = input.to(torch::kDouble).contiguous();
  torch::Tensor r = rois.to(torch::kDouble).contiguous();
  const int64_t c_n = in.size(1), h = in.size(2), w = in.size(3);
  torch::Tensor out = torch::zeros({r.size(0), c_n, o.output_size[0], o.output_size[1]}, torch::kDouble);
  for (int64_t k = 0; k < r.size(0); ++k) {
    const int64_t b = static_cast<int64_t>(r[k][0].item<double>());
    const Box box{r[k][1].item<double>(), r[k][2].item<double>(), r[k][3].item<double>(),
                  r[k][4].item<double>()};
    for (int64_t c = 0; c < c_n; ++c) {
      torch::Tensor p = in[b][c].contiguous();
      std::vector<double> plane(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
      std::vector<double> v = roi_align_ref(plane, h, w, box, o);
      out[k][c].copy_(torch::tensor(v, torch::kDouble).view({o.output_size[0], o.output_size[1]}));
    }
  }
  return out;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace

class TestDetectionOps : public QObject {
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

  // ---------------------------------------------------------------- anchors
  void anchors_hand_computed() {
    AnchorGenerator gen;
    // P2, size 32: ratio 0.5 -> w = 32 sqrt 2 = 45.25, h = 22.63 -> /2 rounded 23, 11; ratio 1 -> 16.
    QVERIFY(torch::equal(gen.cell_anchors()[0], torch::tensor({-23.f, -11.f, 23.f, 11.f, -16.f, -16.f, 16.f,
                                                               16.f, -11.f, -23.f, 11.f, 23.f})
                                                    .view({3, 4})));
    QCOMPARE(gen.num_anchors_per_location(), (std::vector<int64_t>(5, 3)));
    // A 800x1088 padded batch: P6 is 13x17, strides 800 // 13 = 61 and 1088 // 17 = 64.
    std::vector<std::array<int64_t, 2>> grids{{200, 272}, {100, 136}, {50, 68}, {25, 34}, {13, 17}};
    torch::Tensor a = gen.anchors({800, 1088}, grids);
    QCOMPARE(a.size(0), 3 * (200 * 272 + 100 * 136 + 50 * 68 + 25 * 34 + 13 * 17));
    QCOMPARE(a.scalar_type(), torch::kFloat);
    // Order (y, x, anchor): row 3 is P2 at (y 0, x 1): shifted by x 4.
    QVERIFY(torch::equal(a[3], torch::tensor({-19.f, -11.f, 27.f, 11.f})));
    // Row 3 * 272 is P2 at (y 1, x 0).
    QVERIFY(torch::equal(a[3 * 272], torch::tensor({-23.f, -7.f, 23.f, 15.f})));
    // The very last anchor: P6 (y 12, x 16), ratio 2, size 512: base round(-181.02, -362.04, ...)
    // = (-181, -362, 181, 362), shift (16 * 64, 12 * 61) = (1024, 732).
    QVERIFY(torch::equal(a[-1], torch::tensor({1024.f - 181, 732.f - 362, 1024.f + 181, 732.f + 362})));
    // forward: one copy per image, in the features' dtype.
    std::vector<torch::Tensor> feats;
    for (auto g : grids) feats.push_back(torch::zeros({2, 1, g[0], g[1]}, torch::kDouble));
    auto per_image = gen.forward(torch::zeros({2, 3, 800, 1088}), feats);
    QCOMPARE(per_image.size(), size_t(2));
    QCOMPARE(per_image[1].scalar_type(), torch::kDouble);
    QVERIFY(torch::equal(per_image[1].to(torch::kFloat), a));
    STUDIO_EXPECT_ERROR((void)gen.anchors({800, 1088}, {{200, 272}}), "AnchorGenerator", "levels");
  }

  void anchors_match_reference() {
    // Odd sizes and ratios, double-loop reference: every (y, x, ratio, size) in order.
    AnchorGeneratorOptions o;
    o.sizes = {{20, 40}, {50}};
    o.aspect_ratios = {{0.25, 1.0, 3.0}, {0.5, 2.0}};
    AnchorGenerator gen(o);
    const std::array<int64_t, 2> image{100, 130};
    std::vector<std::array<int64_t, 2>> grids{{13, 17}, {7, 9}};
    torch::Tensor a = gen.anchors(image, grids);
    std::vector<double> want;
    for (size_t l = 0; l < grids.size(); ++l) {
      const int64_t sy = image[0] / grids[l][0], sx = image[1] / grids[l][1];
      for (int64_t y = 0; y < grids[l][0]; ++y)
        for (int64_t x = 0; x < grids[l][1]; ++x)
          for (double ar : o.aspect_ratios[l])
            for (double size : o.sizes[l]) {
              // float32 as torchvision, then round half to even.
              const float hr = std::sqrt(static_cast<float>(ar)), wr = 1.f / hr;
              const float ws = wr * static_cast<float>(size), hs = hr * static_cast<float>(size);
              const double shift[4] = {static_cast<double>(x * sx), static_cast<double>(y * sy),
                                       static_cast<double>(x * sx), static_cast<double>(y * sy)};
              const float half[4] = {-ws / 2.f, -hs / 2.f, ws / 2.f, hs / 2.f};
              for (int k = 0; k < 4; ++k) want.push_back(std::nearbyint(half[k]) + shift[k]);
            }
    }
    QCOMPARE(a.numel(), static_cast<int64_t>(want.size()));
    QVERIFY(torch::equal(a.to(torch::kDouble).view(-1), torch::tensor(want, torch::kDouble)));
  }

  // ---------------------------------------------------------------- matcher
  void matcher_hand_computed() {
    // 2 gts x 5 predictions.
    //            p0    p1    p2    p3    p4
    //   gt0     0.9   0.5   0.1   0.2   0.2
    //   gt1     0.8   0.6   0.25  0.1   0.25
    // Best gt: p0 gt0 (0.9, >= 0.7), p1 gt1 (0.6, between), p2 gt1 (0.25, below), p3 gt0 (0.2,
    // below), p4 gt1 (0.25, below).
    // Low-quality: gt0's best is 0.9 (p0, already matched); gt1's best is 0.8, also at p0 —
    // p0 keeps its argmax gt0 (not gt1). With 0.8 replaced by 0.25, gt1's best 0.6 is at p1 -> gt1.
    torch::Tensor q =
        torch::tensor({0.9f, 0.5f, 0.1f, 0.2f, 0.2f, 0.8f, 0.6f, 0.25f, 0.1f, 0.25f}).view({2, 5});
    QCOMPARE(to_ints(Matcher(0.7, 0.3, false)(q)), (std::vector<int64_t>{0, -2, -1, -1, -1}));
    QCOMPARE(to_ints(Matcher(0.7, 0.3, true)(q)), (std::vector<int64_t>{0, -2, -1, -1, -1}));
    q[1][0] = 0.25f;
    QCOMPARE(to_ints(Matcher(0.7, 0.3, true)(q)), (std::vector<int64_t>{0, 1, -1, -1, -1}));
    // Ties: gt1's best 0.25 at p2 and p4 when its other entries are lower: both get matched.
    torch::Tensor t =
        torch::tensor({0.9f, 0.5f, 0.1f, 0.2f, 0.2f, 0.1f, 0.2f, 0.25f, 0.1f, 0.25f}).view({2, 5});
    QCOMPARE(to_ints(Matcher(0.7, 0.3, true)(t)), (std::vector<int64_t>{0, -2, 1, -1, 1}));
    // A gt whose best is 0 matches every prediction at 0 (torchvision has no IoU > 0 condition).
    torch::Tensor z = torch::zeros({1, 3});
    QCOMPARE(to_ints(Matcher(0.7, 0.3, true)(z)), (std::vector<int64_t>{0, 0, 0}));
    STUDIO_EXPECT_ERROR((void)Matcher(0.7, 0.3, true)(torch::zeros({0, 4})), "Matcher", "no ground-truth");
    STUDIO_EXPECT_ERROR((void)Matcher(0.7, 0.3, true)(torch::zeros({2, 0})), "Matcher", "no predicted");
    STUDIO_EXPECT_ERROR(Matcher(0.3, 0.7), "Matcher", "above the high");
  }

  void matcher_matches_reference() {
    torch::manual_seed(13);
    torch::Tensor gt = random_boxes(7, 200, 20, 100);
    torch::Tensor anchors = random_boxes(400, 200, 10, 120);
    anchors[50].copy_(gt[3]);  // ties at IoU 1
    anchors[51].copy_(gt[3]);
    torch::Tensor q = box_iou(gt, anchors);
    auto qa = q.accessor<float, 2>();
    for (bool low_quality : {false, true}) {
      std::vector<int64_t> want(400);
      for (int64_t n = 0; n < 400; ++n) {
        int64_t best = 0;
        for (int64_t m = 1; m < 7; ++m)
          if (qa[m][n] > qa[best][n]) best = m;  // first maximum
        const float v = qa[best][n];
        want[n] = v < 0.3f ? -1 : (v < 0.7f ? -2 : best);
        if (low_quality)
          for (int64_t m = 0; m < 7; ++m) {
            float top = 0;
            for (int64_t k = 0; k < 400; ++k) top = std::max(top, qa[m][k]);
            if (qa[m][n] == top) want[n] = best;
          }
      }
      QCOMPARE(to_ints(Matcher(0.7, 0.3, low_quality)(q)), want);
    }
  }

  // ---------------------------------------------------------------- sampler
  void sampler_counts_and_determinism() {
    torch::manual_seed(14);
    torch::Tensor labels = torch::randint(-1, 3, {1000}, torch::kLong);  // ~333 each of -1, 0, >= 1
    BalancedPositiveNegativeSampler sampler(256, 0.5);
    torch::manual_seed(99);
    SampledMasks s = sampler.sample(labels);
    QCOMPARE(s.positive.scalar_type(), torch::kByte);
    QCOMPARE(s.positive.sum().item<int64_t>(), 128);
    QCOMPARE(s.negative.sum().item<int64_t>(), 128);
    QVERIFY((labels.index({s.positive.to(torch::kBool)}) >= 1).all().item<bool>());
    QVERIFY((labels.index({s.negative.to(torch::kBool)}) == 0).all().item<bool>());
    // The draw is the two randperms in order: redo them by hand after the same seed.
    torch::manual_seed(99);
    torch::Tensor pos = torch::where(labels >= 1)[0], neg = torch::where(labels == 0)[0];
    torch::Tensor p1 = torch::randperm(pos.numel(), torch::kLong).slice(0, 0, 128);
    torch::Tensor p2 = torch::randperm(neg.numel(), torch::kLong).slice(0, 0, 128);
    torch::Tensor want_pos = torch::zeros({1000}, torch::kByte).index_put_({pos.index({p1})}, 1);
    torch::Tensor want_neg = torch::zeros({1000}, torch::kByte).index_put_({neg.index({p2})}, 1);
    QVERIFY(torch::equal(s.positive, want_pos));
    QVERIFY(torch::equal(s.negative, want_neg));
    // Few positives: all 5 taken, the rest of the 256 from the negatives.
    torch::Tensor few = torch::zeros({600}, torch::kLong);
    few.slice(0, 0, 5).fill_(1);
    few.slice(0, 5, 100).fill_(-1);
    auto two = sampler({few, few});
    QCOMPARE(two[0].positive.sum().item<int64_t>(), 5);
    QCOMPARE(two[0].negative.sum().item<int64_t>(), 251);
    QVERIFY(!torch::equal(two[0].negative, two[1].negative));  // a fresh draw per image
    // int(512 * 0.25) = 128 positives at most.
    QCOMPARE(BalancedPositiveNegativeSampler(512, 0.25).sample(labels).positive.sum().item<int64_t>(), 128);
  }

  // ---------------------------------------------------------------- roi_align
  void roi_align_hand_computed() {
    // f(y, x) = 4y + x on a 4x4 map: bilinear sampling of a linear function is exact, so a bin's
    // value is f at the mean of its sample points.
    torch::Tensor f = torch::arange(16, torch::kFloat).view({1, 1, 4, 4});
    RoIAlignOptions o;
    o.output_size = {1, 1};
    o.sampling_ratio = 2;
    // RoI [0,0,2,2], not aligned: samples at 0.5 and 1.5 per axis -> f(1, 1) = 5.
    torch::Tensor roi = torch::tensor({0.f, 0.f, 0.f, 2.f, 2.f}).view({1, 5});
    QCOMPARE(roi_align(f, roi, o).item<float>(), 5.f);
    // Aligned: the RoI moves by -0.5: [0.5,0.5,2.5,2.5] gives the same samples.
    o.aligned = true;
    QCOMPARE(roi_align(f, torch::tensor({0.f, 0.5f, 0.5f, 2.5f, 2.5f}).view({1, 5}), o).item<float>(), 5.f);
    // Past the last row/column: sample (3.5, 3.5) is clamped to (3, 3): f = 15; beyond 4: 0.
    o.aligned = false;
    o.sampling_ratio = 1;
    QCOMPARE(roi_align(f, torch::tensor({0.f, 3.f, 3.f, 4.f, 4.f}).view({1, 5}), o).item<float>(), 15.f);
    QCOMPARE(roi_align(f, torch::tensor({0.f, 4.5f, 4.5f, 5.5f, 5.5f}).view({1, 5}), o).item<float>(), 0.f);
    // Between -1 and 0 the coordinate clamps to 0: sample (-0.5, -0.5) -> f(0, 0) = 0; (-0.5, 1) -> 1.
    QCOMPARE(roi_align(f, torch::tensor({0.f, 0.5f, -1.f, 1.5f, 0.f}).view({1, 5}), o).item<float>(), 1.f);
    // Adaptive grid: a 4x4 RoI to 2x2 bins samples 2x2 per bin; spatial scale 0.5 halves an 8x8 RoI.
    o.output_size = {2, 2};
    o.sampling_ratio = 0;
    o.spatial_scale = 0.5;
    torch::Tensor out = roi_align(f, torch::tensor({0.f, 0.f, 0.f, 8.f, 8.f}).view({1, 5}), o);
    // Bin (0,0) samples 0.5, 1.5 -> f(1,1) = 5; bin (0,1) x 2.5, 3.5 -> clamped 3 for 3.5:
    // mean x = (2.5 + 3) / 2 = 2.75 -> 4 + 2.75 = 6.75.
    QCOMPARE(out[0][0][0][0].item<float>(), 5.f);
    QCOMPARE(out[0][0][0][1].item<float>(), 6.75f);
    STUDIO_EXPECT_ERROR((void)roi_align(f, torch::zeros({1, 4}), o), "roi_align", "[K, 5]");
    STUDIO_EXPECT_ERROR((void)roi_align(f, torch::tensor({3.f, 0.f, 0.f, 1.f, 1.f}).view({1, 5}), o),
                        "batch index");
  }

  void roi_align_backward_hand_computed() {
    // RoI [0,0,2,2] to 1x1 with 2x2 samples at (0.5|1.5, 0.5|1.5): each sample spreads 1/4 over
    // its 4 neighbours, and the bin divides by 4 samples. Pixel (1,1) is a neighbour of all 4
    // samples (4 * 1/4 * 1/4 = 1/4), edge pixels of 2 (1/8), corners of 1 (1/16).
    torch::Tensor f = torch::zeros({1, 1, 4, 4}, torch::kDouble).requires_grad_(true);
    RoIAlignOptions o;
    o.output_size = {1, 1};
    o.sampling_ratio = 2;
    roi_align(f, torch::tensor({0.0, 0.0, 0.0, 2.0, 2.0}, torch::kDouble).view({1, 5}), o).sum().backward();
    torch::Tensor want = torch::zeros({4, 4}, torch::kDouble);
    want.slice(0, 0, 3).slice(1, 0, 3).copy_(
        torch::tensor({1., 2., 1., 2., 4., 2., 1., 2., 1.}, torch::kDouble).view({3, 3}) / 16);
    QVERIFY(torch::equal(f.grad()[0][0], want));
  }

  void roi_align_matches_reference_data() {
    QTest::addColumn<bool>("aligned");
    QTest::addColumn<int>("sampling_ratio");
    QTest::addColumn<bool>("is_double");
    for (bool aligned : {false, true})
      for (int sr : {0, 2, 3})
        for (bool d : {false, true})
          QTest::newRow(
              qPrintable(QString("aligned %1 sr %2 %3").arg(aligned).arg(sr).arg(d ? "f64" : "f32")))
              << aligned << sr << d;
  }
  void roi_align_matches_reference() {
    QFETCH(bool, aligned);
    QFETCH(int, sampling_ratio);
    QFETCH(bool, is_double);
    torch::manual_seed(15 + sampling_ratio);
    const auto dtype = is_double ? torch::kDouble : torch::kFloat;
    torch::Tensor input = torch::randn({2, 3, 11, 13}, dtype);
    torch::Tensor boxes = random_boxes(25, 30, 0.1, 25, dtype) - 3;  // some across the border, some tiny
    torch::Tensor rois = torch::cat({torch::randint(0, 2, {25, 1}).to(dtype), boxes}, 1);
    RoIAlignOptions o;
    o.output_size = {3, 4};
    o.spatial_scale = 0.5;
    o.sampling_ratio = sampling_ratio;
    o.aligned = aligned;
    const double err = max_abs_diff(roi_align(input, rois, o), roi_align_ref_all(input, rois, o));
    QVERIFY2(err < (is_double ? 1e-12 : 1e-5), qPrintable(QString::number(err)));
  }

  void roi_align_backward_matches_finite_differences() {
    // RoIAlign is linear in the features, so central differences in double are exact up to
    // rounding: d/dx_i sum(w * out) = (L(x + e_i) - L(x - e_i)) / 2e for any e.
    torch::manual_seed(16);
    for (bool aligned : {false, true})
      for (int sr : {0, 2}) {
        torch::Tensor x = torch::randn({2, 2, 6, 7}, torch::kDouble);
        torch::Tensor rois = torch::cat({torch::randint(0, 2, {6, 1}).to(torch::kDouble),
                                         random_boxes(6, 14, 0.5, 12, torch::kDouble) - 1},
                                        1);
        RoIAlignOptions o;
        o.output_size = {2, 3};
        o.spatial_scale = 0.5;
        o.sampling_ratio = sr;
        o.aligned = aligned;
        torch::Tensor w = torch::randn({6, 2, 2, 3}, torch::kDouble);
        torch::Tensor xg = x.clone().requires_grad_(true);
        (roi_align(xg, rois, o) * w).sum().backward();
        torch::Tensor numeric = torch::zeros_like(x);
        auto loss = [&](const torch::Tensor& v) {
          return (roi_align_forward(v, rois, o) * w).sum().item<double>();
        };
        torch::Tensor flat = x.view(-1), num_flat = numeric.view(-1);
        for (int64_t i = 0; i < x.numel(); ++i) {
          torch::Tensor plus = x.clone(), minus = x.clone();
          plus.view(-1)[i] += 1e-3;
          minus.view(-1)[i] -= 1e-3;
          num_flat[i] = (loss(plus) - loss(minus)) / 2e-3;
        }
        const double err = max_abs_diff(xg.grad(), numeric);
        QVERIFY2(err < 1e-9, qPrintable(QString("aligned %1 sr %2: %3").arg(aligned).arg(sr).arg(err)));
        QVERIFY(xg.grad().abs().sum().item<double>() > 0);
      }
  }

  void roi_align_float_gradients_and_thread_count() {
    // float32 gradients equal the double ones to float rounding, and the result does not depend
    // on the number of threads (each gradient element sums in one fixed order).
    torch::manual_seed(17);
    torch::Tensor x = torch::randn({1, 8, 9, 9});
    torch::Tensor rois = torch::cat({torch::zeros({20, 1}), random_boxes(20, 9, 0.5, 8)}, 1);
    RoIAlignOptions o;
    o.output_size = {3, 3};
    o.sampling_ratio = 2;
    torch::Tensor g = torch::randn({20, 8, 3, 3});
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    torch::Tensor one = roi_align_backward(g, rois, o, {1, 8, 9, 9});
    torch::Tensor out1 = roi_align_forward(x, rois, o);
    at::set_num_threads(std::max(2, threads));
    torch::Tensor many = roi_align_backward(g, rois, o, {1, 8, 9, 9});
    QVERIFY(torch::equal(roi_align_forward(x, rois, o), out1));
    at::set_num_threads(threads);
    QVERIFY(torch::equal(one, many));
    torch::Tensor dbl = roi_align_backward(g.to(torch::kDouble), rois.to(torch::kDouble), o, {1, 8, 9, 9});
    QVERIFY(max_abs_diff(one, dbl) < 1e-5);
  }

  // ---------------------------------------------------------------- multi-scale RoIAlign
  void level_mapper_hand_computed() {
    // sqrt(area) 224 -> k0 = 4 -> index 2 (k_min 2); 112 -> 3 -> 1; 448 -> 5 -> 3; 56 -> 2 -> 0;
    // 28 -> 1, clamped to 2 -> 0; 2000 -> 7.16, clamped to 5 -> 3; 223 -> 3.99 -> 3 -> 1.
    LevelMapper mapper(2, 5);
    torch::Tensor boxes = torch::tensor({0.f,   0.f,   224.f,  224.f,  0.f,  0.f,  112.f, 112.f, 10.f, 10.f,
                                         458.f, 458.f, 0.f,    0.f,    56.f, 56.f, 0.f,   0.f,   28.f, 28.f,
                                         0.f,   0.f,   2000.f, 2000.f, 0.f,  0.f,  223.f, 223.f})
                              .view({7, 4});
    QCOMPARE(to_ints(mapper({boxes.slice(0, 0, 3), boxes.slice(0, 3, 7)})),
             (std::vector<int64_t>{2, 1, 3, 0, 0, 3, 1}));
    // Scales: P2 of a 800x1088 batch is 200x272 -> 1/4; 13 / 800 -> 2^round(-5.94) = 1/64.
    QCOMPARE(infer_level_scale(200, 800), 0.25);
    QCOMPARE(infer_level_scale(13, 800), 1.0 / 64);
    std::vector<torch::Tensor> feats{torch::zeros({1, 1, 200, 272}), torch::zeros({1, 1, 100, 136}),
                                     torch::zeros({1, 1, 50, 68}), torch::zeros({1, 1, 25, 34})};
    LevelScales s = setup_level_scales(feats, {{800, 1066}, {750, 1088}});
    QCOMPARE(s.scales, (std::vector<double>{0.25, 0.125, 0.0625, 0.03125}));
    QCOMPARE(s.mapper.k_min(), int64_t(2));
    QCOMPARE(s.mapper.k_max(), int64_t(5));
  }

  void multi_scale_roi_align_matches_per_level_reference() {
    // Every box pooled from its level by the double reference, in input order.
    torch::manual_seed(18);
    std::vector<torch::Tensor> feats;
    for (int64_t s : {4, 8, 16, 32}) feats.push_back(torch::randn({2, 3, 256 / s, 320 / s}));
    // Random boxes are mostly small (level 2); three fixed ones reach levels 3, 4 and 5 (clamped).
    torch::Tensor large =
        torch::tensor({0.f, 0.f, 150.f, 150.f, 10.f, 5.f, 310.f, 250.f, 0.f, 0.f, 500.f, 600.f}).view({3, 4});
    std::vector<torch::Tensor> boxes{torch::cat({random_boxes(15, 250, 4, 200), large}),
                                     random_boxes(10, 200, 4, 300)};
    MultiScaleRoIAlignOptions o;
    o.output_size = {5, 5};
    o.sampling_ratio = 2;
    torch::Tensor got = multi_scale_roi_align(feats, boxes, {{256, 320}, {240, 300}}, o);
    QCOMPARE(got.sizes().vec(), (std::vector<int64_t>{28, 3, 5, 5}));
    torch::Tensor rois = boxes_to_rois(boxes);
    std::set<int64_t> used;
    for (int64_t k = 0; k < 28; ++k) {
      const double w = rois[k][3].item<double>() - rois[k][1].item<double>();
      const double h = rois[k][4].item<double>() - rois[k][2].item<double>();
      const int64_t level = std::clamp<int64_t>(
          static_cast<int64_t>(std::floor(4 + std::log2(std::sqrt(w * h) / 224) + 1e-6)), 2, 5);
      used.insert(level);
      RoIAlignOptions ro;
      ro.output_size = o.output_size;
      ro.sampling_ratio = 2;
      ro.spatial_scale = std::pow(2.0, -static_cast<double>(level));
      torch::Tensor want = roi_align_ref_all(feats[level - 2], rois.slice(0, k, k + 1), ro);
      QVERIFY2(max_abs_diff(got.slice(0, k, k + 1), want) < 1e-5, qPrintable(QString("roi %1").arg(k)));
    }
    QCOMPARE(used.size(), size_t(4));
    // Gradients reach every level that pooled a box.
    for (auto& f : feats) f.requires_grad_(true);
    multi_scale_roi_align(feats, boxes, {{256, 320}, {240, 300}}, o).sum().backward();
    for (int64_t level : used) QVERIFY(feats[level - 2].grad().abs().sum().item<double>() > 0);
  }

  void empty_inputs() {
    // Inference can reach the mask head with no detections: zero boxes pool to [0, C, 14, 14]
    // and the backward pass gives zero gradients.
    std::vector<torch::Tensor> feats;
    for (int64_t s : {4, 8, 16, 32})
      feats.push_back(torch::randn({1, 2, 64 / s, 64 / s}).requires_grad_(true));
    MultiScaleRoIAlignOptions o;
    o.output_size = {14, 14};
    torch::Tensor pooled = multi_scale_roi_align(feats, {torch::zeros({0, 4})}, {{64, 64}}, o);
    QCOMPARE(pooled.sizes().vec(), (std::vector<int64_t>{0, 2, 14, 14}));
    pooled.sum().backward();
    for (const auto& f : feats) QVERIFY(!f.grad().defined() || f.grad().abs().sum().item<double>() == 0);
    QCOMPARE(remove_small_boxes(torch::zeros({0, 4}), 1.0).numel(), int64_t(0));
    QCOMPARE(box_iou(torch::zeros({0, 4}), torch::zeros({3, 4})).sizes().vec(), (std::vector<int64_t>{0, 3}));
    // Half features are pooled in float32 and returned as half.
    RoIAlignOptions ro;
    ro.output_size = {2, 2};
    torch::Tensor half =
        roi_align(torch::arange(16, torch::kFloat).view({1, 1, 4, 4}).to(torch::kHalf),
                  torch::tensor({0.f, 0.f, 0.f, 2.f, 2.f}).view({1, 5}).to(torch::kHalf), ro);
    QCOMPARE(half.scalar_type(), torch::kHalf);
  }

  // ---------------------------------------------------------------- paste masks
  void paste_masks_hand_computed() {
    // A 1x1 mask of 1 in box [4,4,5,5]: padded to 3x3 [0 0 0; 0 1 0; 0 0 0], scale 3, the box
    // grows about its centre 4.5 by 3 -> [3,3,6,6] -> 4x4 pixels. Resizing 3 -> 4 (align_corners
    // false, src = 0.75 (dst + 0.5) - 0.5): dst 0 -> src < 0 -> 0; dst 1 -> 0.625 -> 0.625;
    // dst 2 -> 1.375 -> 0.625; dst 3 -> 2.125 -> row 2 = 0. So rows/cols 4, 5 hold 0.625² = 0.390625.
    torch::Tensor out = paste_masks_in_image(torch::ones({1, 1, 1, 1}),
                                             torch::tensor({4.f, 4.f, 5.f, 5.f}).view({1, 4}), 10, 12);
    QCOMPARE(out.sizes().vec(), (std::vector<int64_t>{1, 1, 10, 12}));
    torch::Tensor want = torch::zeros({10, 12});
    want.slice(0, 4, 6).slice(1, 4, 6).fill_(0.390625f);
    QVERIFY(torch::equal(out[0][0], want));
    // Across the border: the part inside is pasted, the rest dropped (box [-1,-1,0,0] -> [-2,-2,1,1]:
    // pixels 0, 1 of the image are dst 2, 3 -> 0.625 at (0, 0) only... dst 2 -> 0.625, dst 3 -> 0).
    torch::Tensor corner = paste_masks_in_image(torch::ones({1, 1, 1}),
                                                torch::tensor({-1.f, -1.f, 0.f, 0.f}).view({1, 4}), 5, 5);
    QCOMPARE(corner[0][0][0][0].item<float>(), 0.390625f);
    QCOMPARE(corner.sum().item<float>(), 0.390625f);
    QCOMPARE(paste_masks_in_image(torch::zeros({0, 1, 28, 28}), torch::zeros({0, 4}), 7, 9).sizes().vec(),
             (std::vector<int64_t>{0, 1, 7, 9}));
  }

  void paste_masks_matches_reference() {
    // Reference: for each image pixel inside the (expanded, truncated) box, bilinear
    // (align_corners false) sample of the padded mask, from the definition.
    torch::manual_seed(19);
    const int64_t n = 6, m = 7, height = 30, width = 40;
    torch::Tensor masks = torch::rand({n, 1, m, m});
    torch::Tensor boxes = clip_boxes_to_image(random_boxes(n, 40, 0.5, 25) - 3, height, width);
    torch::Tensor got = paste_masks_in_image(masks, boxes, height, width);
    auto b = to_boxes(boxes);
    const int64_t mp = m + 2;
    const double scale = static_cast<double>(mp) / m;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<double> pad(mp * mp, 0.0);
      for (int64_t y = 0; y < m; ++y)
        for (int64_t x = 0; x < m; ++x) pad[(y + 1) * mp + x + 1] = masks[i][0][y][x].item<double>();
      // Expanded box in float32 like the op, then truncated.
      const float wh = static_cast<float>((b[i][2] - b[i][0]) * 0.5) * static_cast<float>(scale);
      const float hh = static_cast<float>((b[i][3] - b[i][1]) * 0.5) * static_cast<float>(scale);
      const float cx = static_cast<float>((b[i][2] + b[i][0]) * 0.5),
                  cy = static_cast<float>((b[i][3] + b[i][1]) * 0.5);
      const int64_t x1 = static_cast<int64_t>(cx - wh), x2 = static_cast<int64_t>(cx + wh);
      const int64_t y1 = static_cast<int64_t>(cy - hh), y2 = static_cast<int64_t>(cy + hh);
      const int64_t w = std::max<int64_t>(x2 - x1 + 1, 1), h = std::max<int64_t>(y2 - y1 + 1, 1);
      auto src = [](int64_t dst, int64_t in, int64_t out, int64_t& lo, int64_t& hi, double& l) {
        double s = std::max(0.0, (dst + 0.5) * static_cast<double>(in) / out - 0.5);
        lo = static_cast<int64_t>(s);
        hi = lo < in - 1 ? lo + 1 : lo;
        l = s - lo;
      };
      double worst = 0;
      for (int64_t y = 0; y < height; ++y)
        for (int64_t x = 0; x < width; ++x) {
          double want = 0;
          if (y >= y1 && y <= y2 && x >= x1 && x <= x2) {
            int64_t ylo, yhi, xlo, xhi;
            double ly, lx;
            src(y - y1, mp, h, ylo, yhi, ly);
            src(x - x1, mp, w, xlo, xhi, lx);
            want = (1 - ly) * ((1 - lx) * pad[ylo * mp + xlo] + lx * pad[ylo * mp + xhi]) +
                   ly * ((1 - lx) * pad[yhi * mp + xlo] + lx * pad[yhi * mp + xhi]);
          }
          worst = std::max(worst, std::abs(got[i][0][y][x].item<double>() - want));
        }
      QVERIFY2(worst < 1e-5, qPrintable(QString("mask %1: %2").arg(i).arg(worst)));
    }
  }
};

QTEST_APPLESS_MAIN(TestDetectionOps)
#include "test_detection_ops.moc"
