// The anchor generator, the proposal matcher, the balanced positive/negative sampler and mask
// pasting (core/modeling/ops/{anchor_generator,matcher,balanced_sampler,paste_masks}), each against
// a plain, slow float64 reference written here with loops, on random inputs, plus cases computed
// by hand. Parity with torchvision itself is tests/test_detection_ops_torchvision.cpp.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "common/error.h"
#include "detection_ops_support.h"
#include "modeling/ops/anchor_generator/anchor_generator.h"
#include "modeling/ops/balanced_sampler/balanced_sampler.h"
#include "modeling/ops/box_ops/box_ops.h"
#include "modeling/ops/matcher/matcher.h"
#include "modeling/ops/paste_masks/paste_masks.h"
#include "test_support.h"

using namespace studio;
using namespace studio::test;

class TestAnchorsMatching : public QObject {
  Q_OBJECT

 private slots:
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

QTEST_APPLESS_MAIN(TestAnchorsMatching)
#include "test_anchors_matching.moc"
