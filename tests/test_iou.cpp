// Box and run-length mask IoU: hand-computed boxes, crowd semantics (denominator = detection
// area), and mask IoUs against brute-force pixel counting on random masks.
#include <random>

#include "common/error.h"
#include "data/rle.h"
#include "eval/iou.h"
#include "test_support.h"

using studio::Box;
using studio::Rle;

namespace {

std::vector<std::uint8_t> random_mask(std::mt19937& rng, std::uint32_t h, std::uint32_t w) {
  std::vector<std::uint8_t> m(std::size_t{h} * w, 0);
  const int n = std::uniform_int_distribution<int>(0, 3)(rng);
  for (int b = 0; b < n; ++b) {
    std::uniform_int_distribution<std::uint32_t> ry(0, h - 1), rx(0, w - 1);
    std::uint32_t y0 = ry(rng), y1 = ry(rng), x0 = rx(rng), x1 = rx(rng);
    if (y0 > y1) std::swap(y0, y1);
    if (x0 > x1) std::swap(x0, x1);
    for (std::uint32_t y = y0; y <= y1; ++y)
      for (std::uint32_t x = x0; x <= x1; ++x) m[y * w + x] = 1;
  }
  std::bernoulli_distribution speck(0.02);
  for (auto& v : m)
    if (speck(rng)) v = static_cast<std::uint8_t>(!v);
  return m;
}

// pycocotools' value computed on pixels: i / u, u = dt area for a crowd gt, 0 when i == 0.
double brute_iou(const std::vector<std::uint8_t>& d, const std::vector<std::uint8_t>& g, bool crowd) {
  std::uint64_t i = 0, u = 0, da = 0;
  for (std::size_t p = 0; p < d.size(); ++p) {
    i += d[p] && g[p];
    u += d[p] || g[p];
    da += d[p] != 0;
  }
  if (i == 0) return 0;
  return static_cast<double>(i) / static_cast<double>(crowd ? da : u);
}

}  // namespace

class TestIou : public QObject {
  Q_OBJECT
 private slots:
  void boxes_by_hand() {
    const std::vector<Box> dt{{0, 0, 10, 10}, {5, 5, 10, 10}, {20, 20, 5, 5}, {10, 0, 5, 5}};
    const std::vector<Box> gt{{0, 0, 10, 10}, {0, 0, 20, 20}};
    const auto iou = studio::box_iou(dt, gt, {false, true});
    QCOMPARE(iou.size(), std::size_t{8});
    QCOMPARE(iou[0 * 2 + 0], 1.0);
    QCOMPARE(iou[0 * 2 + 1], 1.0);           // crowd: 100 / dt area 100
    QCOMPARE(iou[1 * 2 + 0], 25.0 / 175.0);  // 5x5 overlap, union 100 + 100 - 25
    QCOMPARE(iou[1 * 2 + 1], 1.0);           // inside the crowd box
    QCOMPARE(iou[2 * 2 + 0], 0.0);           // disjoint
    QCOMPARE(iou[2 * 2 + 1], 0.0);           // touches the corner only: w <= 0
    QCOMPARE(iou[3 * 2 + 0], 0.0);           // shares an edge: zero width
    QCOMPARE(iou[3 * 2 + 1], 1.0);
    const auto plain = studio::box_iou(dt, gt, {});
    QCOMPARE(plain[1 * 2 + 1], 100.0 / 400.0);  // not crowd: union = gt area
    STUDIO_EXPECT_ERROR((void)studio::box_iou(dt, gt, {true}), "crowd");
  }

  void masks_against_pixels() {
    std::mt19937 rng(7);
    for (int round = 0; round < 60; ++round) {
      const std::uint32_t h = std::uniform_int_distribution<std::uint32_t>(1, 40)(rng);
      const std::uint32_t w = std::uniform_int_distribution<std::uint32_t>(1, 40)(rng);
      std::vector<std::vector<std::uint8_t>> dm, gm;
      std::vector<Rle> dr, gr;
      for (int j = 0; j < 4; ++j) {
        dm.push_back(random_mask(rng, h, w));
        dr.push_back(studio::rle_encode(dm.back().data(), h, w));
      }
      for (int j = 0; j < 3; ++j) {
        gm.push_back(random_mask(rng, h, w));
        gr.push_back(studio::rle_encode(gm.back().data(), h, w));
      }
      std::vector<const Rle*> dp, gp;
      for (auto& r : dr) dp.push_back(&r);
      for (auto& r : gr) gp.push_back(&r);
      const std::vector<bool> crowd{false, true, false};
      const auto iou = studio::rle_iou(dp, gp, crowd);
      for (std::size_t d = 0; d < 4; ++d)
        for (std::size_t g = 0; g < 3; ++g)
          QCOMPARE(iou[d * 3 + g], brute_iou(dm[d], gm[g], crowd[g]));  // bit-identical
    }
  }

  void mask_crowd_by_hand() {
    // 10x10 image; crowd gt = left half (50 px), dt = 2x5 block inside plus 2x5 block outside.
    std::vector<std::uint8_t> g(100, 0), d(100, 0);
    for (int y = 0; y < 10; ++y)
      for (int x = 0; x < 5; ++x) g[y * 10 + x] = 1;
    for (int y = 0; y < 2; ++y)
      for (int x = 3; x < 8; ++x) d[y * 10 + x] = 1;  // 4 px inside (x 3,4 of 2 rows), 6 outside
    const Rle gr = studio::rle_encode(g.data(), 10, 10), dr = studio::rle_encode(d.data(), 10, 10);
    QCOMPARE(studio::rle_iou({&dr}, {&gr}, {true})[0], 4.0 / 10.0);   // / dt area
    QCOMPARE(studio::rle_iou({&dr}, {&gr}, {false})[0], 4.0 / 56.0);  // / union 50 + 10 - 4
    const Rle other{5, 20, {100}};
    STUDIO_EXPECT_ERROR((void)studio::rle_iou({&dr}, {&other}, {}), "size");
    const Rle empty{10, 10, {100}};
    QCOMPARE(studio::rle_iou({&empty}, {&gr}, {true})[0], 0.0);
  }
};

QTEST_APPLESS_MAIN(TestIou)
#include "test_iou.moc"
