// RoIAlign (forward and backward) and multi-scale RoIAlign with its level mapper
// (core/modeling/ops/{roi_align,multi_scale_roi_align}), against a plain, slow float64 reference
// written here with double loops and against finite differences, on random inputs, plus cases
// computed by hand. Parity with torchvision itself is tests/test_detection_ops_torchvision.cpp.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>
#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "common/error.h"
#include "detection_ops_support.h"
#include "modeling/ops/box_ops/box_ops.h"
#include "modeling/ops/multi_scale_roi_align/multi_scale_roi_align.h"
#include "modeling/ops/roi_align/roi_align.h"
#include "test_support.h"

using namespace studio;
using namespace studio::test;

namespace {

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

}  // namespace

class TestRoIAlign : public QObject {
  Q_OBJECT

 private slots:
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

  void roi_align_channels_last_is_bit_equal() {
    // A channels-last map (the CPU backbone's layout) goes through kernels of its own: the same
    // values to the bit, forward and backward, with channels-last outputs and gradients; several
    // images, both alignments, fixed and adaptive grids, and 37 channels (not a multiple of a vector).
    torch::manual_seed(23);
    torch::Tensor x = torch::randn({2, 37, 11, 13});
    torch::Tensor boxes = random_boxes(30, 12, 0.3, 9);
    torch::Tensor rois = torch::cat({torch::randint(0, 2, {30, 1}).to(torch::kFloat), boxes}, 1);
    torch::Tensor g = torch::randn({30, 37, 4, 3});
    for (bool aligned : {false, true})
      for (int sr : {0, 2}) {
        RoIAlignOptions o;
        o.output_size = {4, 3};
        o.sampling_ratio = sr;
        o.spatial_scale = 0.8;
        o.aligned = aligned;
        const torch::Tensor xl = x.contiguous(at::MemoryFormat::ChannelsLast);
        QVERIFY(!xl.is_contiguous());
        const torch::Tensor out = roi_align_forward(x, rois, o), out_l = roi_align_forward(xl, rois, o);
        QVERIFY(out_l.is_contiguous(at::MemoryFormat::ChannelsLast) && !out_l.is_contiguous());
        QVERIFY(torch::equal(out, out_l));
        QVERIFY(out.abs().sum().item<float>() > 0);
        const torch::Tensor grad = roi_align_backward(g, rois, o, {2, 37, 11, 13});
        const torch::Tensor grad_l = roi_align_backward(g, rois, o, {2, 37, 11, 13}, /*channels_last=*/true);
        QVERIFY(grad_l.is_contiguous(at::MemoryFormat::ChannelsLast));
        QVERIFY(torch::equal(grad, grad_l));
        // Through autograd: the gradient of a channels-last leaf is channels-last and equal.
        torch::Tensor leaf = xl.clone().requires_grad_(true);
        (roi_align(leaf, rois, o) * g).sum().backward();
        QVERIFY(torch::equal(leaf.grad(), grad));
      }
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
};

QTEST_APPLESS_MAIN(TestRoIAlign)
#include "test_roi_align.moc"
