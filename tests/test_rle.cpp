// RLE mask API: encode/decode, area, box and merge against brute force on random masks; the
// compressed string form; polygon rasterisation on cases computed by hand.
#include <algorithm>
#include <cmath>
#include <random>

#include "common/error.h"
#include "data/rle.h"
#include "test_support.h"

using studio::Rle;

namespace {

// A row-major h*w mask of a few random rectangles and scattered pixels (long and short runs).
std::vector<std::uint8_t> random_mask(std::mt19937& rng, std::uint32_t h, std::uint32_t w) {
  std::vector<std::uint8_t> m(std::size_t{h} * w, 0);
  std::uniform_int_distribution<int> blobs(0, 3);
  const int n = blobs(rng);
  for (int b = 0; b < n; ++b) {
    std::uniform_int_distribution<std::uint32_t> ry(0, h - 1), rx(0, w - 1);
    std::uint32_t y0 = ry(rng), y1 = ry(rng), x0 = rx(rng), x1 = rx(rng);
    if (y0 > y1) std::swap(y0, y1);
    if (x0 > x1) std::swap(x0, x1);
    for (std::uint32_t y = y0; y <= y1; ++y)
      for (std::uint32_t x = x0; x <= x1; ++x) m[y * w + x] = 1;
  }
  std::bernoulli_distribution speck(0.03);
  for (auto& v : m)
    if (speck(rng)) v = static_cast<std::uint8_t>(v ? 0 : 7);  // any nonzero is foreground
  return m;
}

// Column-major runs counted pixel by pixel: the definition, without cleverness.
std::vector<std::uint32_t> brute_counts(const std::vector<std::uint8_t>& m, std::uint32_t h,
                                        std::uint32_t w) {
  std::vector<std::uint32_t> counts{0};
  bool cur = false;
  for (std::uint32_t x = 0; x < w; ++x)
    for (std::uint32_t y = 0; y < h; ++y) {
      const bool v = m[y * w + x] != 0;
      if (v != cur) {
        counts.push_back(0);
        cur = v;
      }
      ++counts.back();
    }
  return counts;
}

std::array<double, 4> brute_bbox(const std::vector<std::uint8_t>& m, std::uint32_t h, std::uint32_t w) {
  std::uint32_t x0 = w, y0 = h, x1 = 0, y1 = 0;
  bool any = false;
  for (std::uint32_t y = 0; y < h; ++y)
    for (std::uint32_t x = 0; x < w; ++x)
      if (m[y * w + x]) {
        any = true;
        x0 = std::min(x0, x);
        x1 = std::max(x1, x);
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
      }
  if (!any) return {0, 0, 0, 0};
  return {double(x0), double(y0), double(x1 - x0 + 1), double(y1 - y0 + 1)};
}

std::vector<std::uint8_t> binarize(std::vector<std::uint8_t> m) {
  for (auto& v : m) v = v ? 1 : 0;
  return m;
}

// Distance from (px, py) to the segment (ax, ay)-(bx, by).
double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(px - (ax + t * dx), py - (ay + t * dy));
}

}  // namespace

class TestRle : public QObject {
  Q_OBJECT

 private slots:
  void encode_decode_area_bbox_random() {
    std::mt19937 rng(1234);
    std::uniform_int_distribution<std::uint32_t> size(1, 40);
    for (int iter = 0; iter < 300; ++iter) {
      const std::uint32_t h = size(rng), w = size(rng);
      const auto mask = random_mask(rng, h, w);
      const Rle rle = studio::rle_encode(mask.data(), h, w);
      QCOMPARE(rle.h, h);
      QCOMPARE(rle.w, w);
      QCOMPARE(rle.counts, brute_counts(mask, h, w));
      QCOMPARE(studio::rle_decode(rle), binarize(mask));
      const auto area = std::count_if(mask.begin(), mask.end(), [](std::uint8_t v) { return v != 0; });
      QCOMPARE(studio::rle_area(rle), static_cast<std::uint64_t>(area));
      QCOMPARE(studio::rle_bbox(rle), brute_bbox(mask, h, w));
      // Compressed string and uncompressed counts come back identical.
      QCOMPARE(studio::rle_from_string(studio::rle_to_string(rle), h, w), rle);
      QCOMPARE(studio::rle_from_counts(rle.counts, h, w), rle);
    }
  }

  void merge_random() {
    std::mt19937 rng(99);
    std::uniform_int_distribution<std::uint32_t> size(1, 30);
    std::uniform_int_distribution<int> count(1, 4);
    for (int iter = 0; iter < 200; ++iter) {
      const std::uint32_t h = size(rng), w = size(rng);
      const int n = count(rng);
      std::vector<Rle> rles;
      std::vector<std::uint8_t> uni(std::size_t{h} * w, 0), inter(std::size_t{h} * w, 1);
      for (int i = 0; i < n; ++i) {
        const auto m = binarize(random_mask(rng, h, w));
        rles.push_back(studio::rle_encode(m.data(), h, w));
        for (std::size_t p = 0; p < m.size(); ++p) {
          uni[p] |= m[p];
          inter[p] &= m[p];
        }
      }
      // Canonical counts, so comparing with a fresh encoding compares the runs exactly.
      QCOMPARE(studio::rle_merge(rles, false), studio::rle_encode(uni.data(), h, w));
      QCOMPARE(studio::rle_merge(rles, true), studio::rle_encode(inter.data(), h, w));
    }
    QCOMPARE(studio::rle_merge({}), Rle{});
    const std::uint8_t a[4] = {1, 0, 0, 0};
    STUDIO_EXPECT_ERROR((void)studio::rle_merge({studio::rle_encode(a, 2, 2), studio::rle_encode(a, 1, 4)}),
                        "different sizes");
  }

  void bbox_multi_column_run() {
    // A run of 1s from the bottom of column 0 into the top of column 1 covers the full height.
    QCOMPARE(studio::rle_bbox(studio::rle_from_counts({3, 2, 3}, 4, 2)), (std::array<double, 4>{0, 0, 2, 4}));
    QCOMPARE(studio::rle_bbox(studio::rle_from_counts({8}, 4, 2)), (std::array<double, 4>{0, 0, 0, 0}));
    QCOMPARE(studio::rle_bbox(studio::rle_from_counts({0, 8}, 4, 2)), (std::array<double, 4>{0, 0, 2, 4}));
  }

  void string_known_cases() {
    // Worked by hand: counts 0,3,2 are single groups; from the fourth count on the difference to
    // counts[i-2] is written: 2-3=-1 -> 31|sign -> 'O'; 3-2=1 -> '1'; 1-2=-1 -> 'O'; 14-3=11 -> ';'.
    const Rle tri{5, 5, {0, 3, 2, 2, 3, 1, 14}};
    QCOMPARE(studio::rle_to_string(tri), std::string("032O1O;"));
    QCOMPARE(studio::rle_from_string("032O1O;", 5, 5), tri);
    // 100 = 3*32 + 4 -> groups 4|more (='T') and 3 (='3'); 100-0 is not a delta (i <= 2).
    // The fourth count 2 is written as 2-100 = -98 -> 30|more (='n'), then -4 & 31 = 28 (='L').
    const Rle multi{107, 1, {0, 100, 5, 2}};
    QCOMPARE(studio::rle_to_string(multi), std::string("0T35nL"));
    QCOMPARE(studio::rle_from_string("0T35nL", 107, 1), multi);
    // Large counts need several groups and still round-trip.
    const Rle big{100000, 40000, {1999999999u, 2000000000u, 1}};
    QCOMPARE(studio::rle_from_string(studio::rle_to_string(big), 100000, 40000), big);
    QCOMPARE(studio::rle_from_string("", 0, 0), (Rle{0, 0, {}}));
  }

  void string_malformed_throws() {
    STUDIO_EXPECT_ERROR((void)studio::rle_from_string("032O1O!", 5, 5), "malformed RLE string",
                        "character 6");
    STUDIO_EXPECT_ERROR((void)studio::rle_from_string("032O1O{", 5, 5), "malformed RLE string");
    STUDIO_EXPECT_ERROR((void)studio::rle_from_string("0T", 107, 1), "ends in the middle of a count");
    STUDIO_EXPECT_ERROR((void)studio::rle_from_string("oooooooo0", 5, 5), "too long");
    STUDIO_EXPECT_ERROR((void)studio::rle_from_string("00O", 5, 5), "outside 0..2^32-1");
    STUDIO_EXPECT_ERROR((void)studio::rle_from_string("032O1O;", 5, 6), "sum to 25", "h*w = 30");
    STUDIO_EXPECT_ERROR((void)studio::rle_from_counts({1, 2}, 2, 2), "sum to 3", "h*w = 4");
    STUDIO_EXPECT_ERROR((void)studio::rle_from_counts({0}, 100000, 100000), "too large");
  }

  void polygon_rectangle_integer_corners() {
    // Pixel centres (x+.5, y+.5) strictly inside [1,4]x[1,3]: x in 1..3, y in 1..2.
    const std::uint32_t h = 5, w = 6;
    const Rle rle = studio::rle_from_polygon({1, 1, 4, 1, 4, 3, 1, 3}, h, w);
    std::vector<std::uint8_t> expected(h * w, 0);
    for (std::uint32_t y = 1; y <= 2; ++y)
      for (std::uint32_t x = 1; x <= 3; ++x) expected[y * w + x] = 1;
    QCOMPARE(studio::rle_decode(rle), expected);
    QCOMPARE(rle, studio::rle_encode(expected.data(), h, w));
    QCOMPARE(studio::rle_area(rle), std::uint64_t{6});
    QCOMPARE(studio::rle_bbox(rle), (std::array<double, 4>{1, 1, 3, 2}));
    // Same box, vertices listed the other way round and from another corner.
    QCOMPARE(studio::rle_from_polygon({4, 3, 4, 1, 1, 1, 1, 3}, h, w), rle);
    // Partly outside the image: clipped to it.
    const Rle clipped = studio::rle_from_polygon({-2, -2, 3, -2, 3, 2, -2, 2}, h, w);
    QCOMPARE(studio::rle_area(clipped), std::uint64_t{6});
    QCOMPARE(studio::rle_bbox(clipped), (std::array<double, 4>{0, 0, 3, 2}));
  }

  void polygon_triangle_by_hand() {
    // Triangle (0,0) (4,0) (0,4) on 5x5, scaled by 5. Crossings of the column centres:
    // the top edge toggles at y=0 in columns 0..3; the hypotenuse, walked from (20,0) to (0,20),
    // toggles at y = ceil((v+.5)/5-.5) = 0,1,2,3 in columns 3,2,1,0. Column 3 toggles twice at
    // the same place and stays empty (its centre (3.5,.5) lies on the hypotenuse).
    const Rle rle = studio::rle_from_polygon({0, 0, 4, 0, 0, 4}, 5, 5);
    QCOMPARE(rle, (Rle{5, 5, {0, 3, 2, 2, 3, 1, 14}}));
    const std::vector<std::uint8_t> expected = {1, 1, 1, 0, 0,  //
                                                1, 1, 0, 0, 0,  //
                                                1, 0, 0, 0, 0,  //
                                                0, 0, 0, 0, 0,  //
                                                0, 0, 0, 0, 0};
    QCOMPARE(studio::rle_decode(rle), expected);
    QCOMPARE(studio::rle_bbox(rle), (std::array<double, 4>{0, 0, 3, 3}));
  }

  void polygon_degenerate() {
    QCOMPARE(studio::rle_from_polygon({}, 3, 4), (Rle{3, 4, {12}}));
    QCOMPARE(studio::rle_from_polygon({1, 1, 1, 1, 1, 1}, 3, 4), (Rle{3, 4, {12}}));
    QCOMPARE(studio::rle_from_polygons({}, 3, 4), (Rle{3, 4, {12}}));
    STUDIO_EXPECT_ERROR((void)studio::rle_from_polygon({0, 0, NAN, 1, 2, 2}, 3, 4), "out of range");
    STUDIO_EXPECT_ERROR((void)studio::rle_from_polygon({0, 0, 1e12, 1, 2, 2}, 3, 4), "out of range");
  }

  void polygons_union() {
    const Rle a = studio::rle_from_polygon({1, 1, 4, 1, 4, 3, 1, 3}, 8, 8);
    const Rle b = studio::rle_from_polygon({3, 2, 7, 2, 7, 6, 3, 6}, 8, 8);
    const Rle u = studio::rle_from_polygons({{1, 1, 4, 1, 4, 3, 1, 3}, {3, 2, 7, 2, 7, 6, 3, 6}}, 8, 8);
    QCOMPARE(u, studio::rle_merge({a, b}));
    QCOMPARE(studio::rle_area(u), std::uint64_t{6 + 16 - 1});
  }

  void polygon_matches_point_in_polygon_away_from_edges() {
    // Random star-shaped polygons with 2-decimal vertices: every pixel whose centre is clearly
    // inside (or outside) must be set (or clear); only centres within 0.3 px of an edge may go
    // either way (the reference rounds vertices to 1/5 px).
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> radius(3, 14), jitter(0, 1);
    const std::uint32_t h = 32, w = 36;
    for (int iter = 0; iter < 100; ++iter) {
      const int k = 3 + iter % 20;
      std::vector<double> xy;
      for (int i = 0; i < k; ++i) {
        const double a = 2 * M_PI * (i + 0.8 * jitter(rng)) / k, r = radius(rng);
        xy.push_back(std::round((17 + r * std::cos(a)) * 100) / 100);
        xy.push_back(std::round((15 + r * std::sin(a)) * 100) / 100);
      }
      const auto mask = studio::rle_decode(studio::rle_from_polygon(xy, h, w));
      for (std::uint32_t y = 0; y < h; ++y)
        for (std::uint32_t x = 0; x < w; ++x) {
          const double px = x + 0.5, py = y + 0.5;
          bool inside = false;
          double dist = 1e9;
          for (int i = 0, j = k - 1; i < k; j = i++) {
            const double xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
            if ((yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi) inside = !inside;
            dist = std::min(dist, segment_distance(px, py, xi, yi, xj, yj));
          }
          if (dist > 0.3) QCOMPARE(mask[y * w + x] != 0, inside);
        }
    }
  }
};

QTEST_APPLESS_MAIN(TestRle)
#include "test_rle.moc"
