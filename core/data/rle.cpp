#include "data/rle.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/error.h"

// Conventions (the same as pycocotools' maskApi.c, so areas, boxes and IoUs agree bit for bit):
// - pixels are visited in column-major order: index = x * h + y;
// - counts alternate runs of 0s and 1s, starting with a (possibly empty) run of 0s;
// - every function here produces canonical counts (no empty run except a leading one), which is
//   also what the reference produces for canonical input.

namespace studio {
namespace {

std::uint64_t counts_sum(const std::vector<std::uint32_t>& counts) {
  std::uint64_t sum = 0;
  for (std::uint32_t c : counts) sum += c;
  return sum;
}

void check_size(std::uint32_t h, std::uint32_t w) {
  if (std::uint64_t{h} * w > std::numeric_limits<std::uint32_t>::max())
    throw Error("RLE size " + std::to_string(h) + "x" + std::to_string(w) +
                " is too large (at most 2^32-1 pixels)");
}

void check_sum(const std::vector<std::uint32_t>& counts, std::uint32_t h, std::uint32_t w) {
  const std::uint64_t sum = counts_sum(counts);
  const std::uint64_t expected = std::uint64_t{h} * w;
  if (sum != expected)
    throw Error("RLE counts sum to " + std::to_string(sum) + ", expected h*w = " + std::to_string(expected) +
                " (size [" + std::to_string(h) + ", " + std::to_string(w) + "])");
}

// Appends a run of `value` to canonical counts being built (counts.size() odd <=> last run is 0s).
void push_run(std::vector<std::uint32_t>& counts, bool value, std::uint32_t length) {
  if (length == 0) return;
  const bool last_value = counts.size() % 2 == 0;  // value of the run counts.back() holds
  if (counts.empty()) {
    if (value) counts.push_back(0);
    counts.push_back(length);
    return;
  }
  if (last_value == value)
    counts.back() += length;
  else
    counts.push_back(length);
}

// Walks the runs of one RLE, skipping empty runs; past the end it yields 0s forever.
class RunCursor {
 public:
  explicit RunCursor(const Rle& rle) : counts_(rle.counts) { advance(); }
  [[nodiscard]] bool value() const { return value_; }
  [[nodiscard]] std::uint64_t left() const { return left_; }
  void consume(std::uint64_t n) {
    left_ -= n;
    if (left_ == 0) advance();
  }

 private:
  void advance() {
    while (next_ < counts_.size()) {
      value_ = next_ % 2 == 1;
      left_ = counts_[next_++];
      if (left_ > 0) return;
    }
    value_ = false;
    left_ = std::numeric_limits<std::uint64_t>::max();
  }
  const std::vector<std::uint32_t>& counts_;
  std::size_t next_ = 0;
  bool value_ = false;
  std::uint64_t left_ = 0;
};

Rle merge_two(const Rle& a, const Rle& b, bool intersect) {
  Rle out{a.h, a.w, {}};
  const std::uint64_t total = std::uint64_t{a.h} * a.w;
  out.counts.reserve(std::max(a.counts.size(), b.counts.size()) + 1);
  RunCursor ca(a), cb(b);
  std::uint64_t done = 0;
  while (done < total) {
    const std::uint64_t n = std::min({ca.left(), cb.left(), total - done});
    const bool v = intersect ? (ca.value() && cb.value()) : (ca.value() || cb.value());
    push_run(out.counts, v, static_cast<std::uint32_t>(n));
    ca.consume(n);
    cb.consume(n);
    done += n;
  }
  if (out.counts.empty()) out.counts.push_back(0);
  return out;
}

}  // namespace

Rle rle_encode(const std::uint8_t* mask, std::uint32_t h, std::uint32_t w) {
  check_size(h, w);
  Rle rle{h, w, {}};
  bool current = false;
  std::uint32_t run = 0;
  for (std::uint32_t x = 0; x < w; ++x) {
    const std::uint8_t* column = mask + x;
    for (std::uint32_t y = 0; y < h; ++y) {
      const bool v = column[std::size_t{y} * w] != 0;
      if (v != current) {
        rle.counts.push_back(run);
        run = 0;
        current = v;
      }
      ++run;
    }
  }
  rle.counts.push_back(run);
  return rle;
}

std::vector<std::uint8_t> rle_decode(const Rle& rle) {
  const std::size_t h = rle.h, w = rle.w, total = h * w;
  std::vector<std::uint8_t> mask(total, 0);
  // Walk the column-major order with (x, y) counters; runs past h*w are cut off.
  std::size_t pos = 0, x = 0, y = 0;
  for (std::size_t i = 0; i < rle.counts.size() && pos < total; ++i) {
    std::size_t n = std::min<std::size_t>(total - pos, rle.counts[i]);
    pos += n;
    if (i % 2 == 0) {
      y += n;
      x += y / h;
      y %= h;
      continue;
    }
    for (; n > 0; --n) {
      mask[y * w + x] = 1;
      if (++y == h) {
        y = 0;
        ++x;
      }
    }
  }
  return mask;
}

// Each count (from the fourth on, a difference to the count two places before, so that the
// alternating 0/1 runs of similar lengths give small numbers) is written as 5-bit groups, least
// significant first; bit 0x20 marks "more groups follow", bit 0x10 of the last group is the sign.
// Each group is offset by 48 so the string is printable ASCII 48..111.
std::string rle_to_string(const Rle& rle) {
  std::string s;
  s.reserve(rle.counts.size() * 2);
  for (std::size_t i = 0; i < rle.counts.size(); ++i) {
    std::int64_t x = rle.counts[i];
    if (i > 2) x -= rle.counts[i - 2];
    bool more = true;
    while (more) {
      int c = static_cast<int>(x & 0x1f);
      x >>= 5;  // arithmetic shift: keeps the sign
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s.push_back(static_cast<char>(c + 48));
    }
  }
  return s;
}

Rle rle_from_string(std::string_view s, std::uint32_t h, std::uint32_t w) {
  check_size(h, w);
  // A count needs at most 33 bits plus sign as a difference: 7 groups of 5 bits.
  constexpr int kMaxGroups = 7;
  Rle rle{h, w, {}};
  rle.counts.reserve(s.size());
  std::size_t p = 0;
  while (p < s.size()) {
    const std::size_t start = p;
    std::int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= s.size())
        throw Error("malformed RLE string: it ends in the middle of a count (at character " +
                    std::to_string(p) + ")");
      const int c = static_cast<unsigned char>(s[p]) - 48;
      if (c < 0 || c > 63)
        throw Error("malformed RLE string: character " + std::to_string(p) +
                    " is not in the RLE alphabet (ASCII '0'..'o')");
      if (k == kMaxGroups)
        throw Error("malformed RLE string: the count starting at character " + std::to_string(start) +
                    " is too long");
      x |= static_cast<std::int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= -(std::int64_t{1} << (5 * k));  // sign-extend
    }
    const std::size_t m = rle.counts.size();
    if (m > 2) x += rle.counts[m - 2];
    if (x < 0 || x > std::numeric_limits<std::uint32_t>::max())
      throw Error("malformed RLE string: the count starting at character " + std::to_string(start) +
                  " decodes to " + std::to_string(x) + ", outside 0..2^32-1");
    rle.counts.push_back(static_cast<std::uint32_t>(x));
  }
  check_sum(rle.counts, h, w);
  return rle;
}

Rle rle_from_counts(std::vector<std::uint32_t> counts, std::uint32_t h, std::uint32_t w) {
  check_size(h, w);
  check_sum(counts, h, w);
  return Rle{h, w, std::move(counts)};
}

// maskApi.c's rleFrPoly: the vertices are scaled by 5 and rounded, every edge is walked one step
// at a time along its major axis (the exact integer stepping and rounding below is the
// reference's), and wherever the walk crosses the vertical line through a pixel centre the
// boundary y (rounded up, in pixels) becomes a toggle point of the column-major runs.
Rle rle_from_polygon(const std::vector<double>& xy, std::uint32_t h, std::uint32_t w) {
  check_size(h, w);
  const std::size_t k = xy.size() / 2;
  // Bounds keep every scaled coordinate and difference inside int, as the reference assumes,
  // and the walk finite (the steps along an edge grow with its length).
  constexpr double kMaxCoordinate = 1e6;
  for (std::size_t j = 0; j < 2 * k; ++j)
    if (!std::isfinite(xy[j]) || std::fabs(xy[j]) > kMaxCoordinate)
      throw Error("polygon coordinate " + std::to_string(xy[j]) + " is out of range (|c| <= 1e6)");

  constexpr double scale = 5;
  std::vector<int> x(k + 1), y(k + 1);
  for (std::size_t j = 0; j < k; ++j) {
    x[j] = static_cast<int>(scale * xy[2 * j] + .5);  // truncation toward zero, as in C
    y[j] = static_cast<int>(scale * xy[2 * j + 1] + .5);
  }
  if (k > 0) {
    x[k] = x[0];
    y[k] = y[0];
  }

  std::vector<std::uint32_t> toggles;  // column-major positions where the value flips
  bool have_prev = false;
  int pu = 0, pv = 0;
  // Called for the boundary points in walk order; a change of u is a crossing between columns.
  auto visit = [&](int u, int v) {
    if (have_prev && u != pu) {
      double xd = u < pu ? u : u - 1;
      xd = (xd + .5) / scale - .5;
      if (std::floor(xd) == xd && xd >= 0 && xd <= static_cast<double>(w) - 1) {
        double yd = v < pv ? v : pv;
        yd = (yd + .5) / scale - .5;
        if (yd < 0)
          yd = 0;
        else if (yd > h)
          yd = h;
        yd = std::ceil(yd);
        // <= h*w, which check_size keeps inside uint32.
        toggles.push_back(
            static_cast<std::uint32_t>(static_cast<std::uint64_t>(xd) * h + static_cast<std::uint64_t>(yd)));
      }
    }
    pu = u;
    pv = v;
    have_prev = true;
  };
  for (std::size_t j = 0; j < k; ++j) {
    int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
    const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    if (dx >= dy) {
      // dx == 0 means a repeated vertex: the reference divides 0 by 0 there, but the point's v is
      // never used (its u equals its neighbours'), so any slope does.
      const double s = dx == 0 ? 0.0 : static_cast<double>(ye - ys) / dx;
      for (int d = 0; d <= dx; ++d) {
        const int t = flip ? dx - d : d;
        visit(t + xs, static_cast<int>(ys + s * t + .5));
      }
    } else {
      const double s = static_cast<double>(xe - xs) / dy;
      for (int d = 0; d <= dy; ++d) {
        const int t = flip ? dy - d : d;
        visit(static_cast<int>(xs + s * t + .5), t + ys);
      }
    }
  }

  // Sorted toggle positions -> run lengths; two toggles at one position cancel, which the
  // reference does by folding the run after a zero difference into the run before it.
  toggles.push_back(h * w);
  std::sort(toggles.begin(), toggles.end());
  std::uint32_t prev = 0;
  for (auto& t : toggles) {
    const std::uint32_t cur = t;
    t -= prev;
    prev = cur;
  }
  Rle rle{h, w, {}};
  rle.counts.reserve(toggles.size());
  std::size_t j = 0;
  rle.counts.push_back(toggles[j++]);
  while (j < toggles.size()) {
    if (toggles[j] > 0) {
      rle.counts.push_back(toggles[j++]);
    } else {
      ++j;
      if (j < toggles.size()) rle.counts.back() += toggles[j++];
    }
  }
  return rle;
}

Rle rle_from_polygons(const std::vector<std::vector<double>>& polys, std::uint32_t h, std::uint32_t w) {
  if (polys.empty()) {
    check_size(h, w);
    return Rle{h, w, {h * w}};
  }
  if (polys.size() == 1) return rle_from_polygon(polys[0], h, w);
  std::vector<Rle> parts;
  parts.reserve(polys.size());
  for (const auto& p : polys) parts.push_back(rle_from_polygon(p, h, w));
  return rle_merge(parts);
}

Rle rle_merge(const std::vector<Rle>& rles, bool intersect) {
  if (rles.empty()) return Rle{};
  for (const Rle& r : rles)
    if (r.h != rles[0].h || r.w != rles[0].w)
      throw Error("cannot merge RLE masks of different sizes ([" + std::to_string(rles[0].h) + ", " +
                  std::to_string(rles[0].w) + "] and [" + std::to_string(r.h) + ", " + std::to_string(r.w) +
                  "])");
  if (rles.size() == 1) return rles[0];
  Rle acc = merge_two(rles[0], rles[1], intersect);
  for (std::size_t i = 2; i < rles.size(); ++i) acc = merge_two(acc, rles[i], intersect);
  return acc;
}

std::uint64_t rle_area(const Rle& rle) {
  std::uint64_t area = 0;
  for (std::size_t j = 1; j < rle.counts.size(); j += 2) area += rle.counts[j];
  return area;
}

// As maskApi.c's rleToBbox: from the first and last pixel of every run of 1s; a run that spans
// more than one column covers the full height.
std::array<double, 4> rle_bbox(const Rle& rle) {
  const std::uint64_t h = rle.h;
  if (h == 0) return {0, 0, 0, 0};
  std::uint64_t xs = rle.w, ys = h, xe = 0, ye = 0;
  bool any = false;
  std::uint64_t pos = 0;
  // The reference ignores a trailing run of 0s (it only looks at complete 0/1 pairs).
  const std::size_t m = rle.counts.size() / 2 * 2;
  for (std::size_t j = 0; j < m; ++j) {
    const std::uint64_t len = rle.counts[j];
    if (j % 2 == 1 && len > 0) {
      const std::uint64_t first = pos, last = pos + len - 1;
      const std::uint64_t x0 = first / h, y0 = first % h, x1 = last / h, y1 = last % h;
      xs = std::min(xs, x0);
      xe = std::max(xe, x1);
      if (x0 < x1) {
        ys = 0;
        ye = h - 1;
      } else {
        ys = std::min(ys, y0);
        ye = std::max(ye, y1);
      }
      any = true;
    }
    pos += len;
  }
  if (!any) {
    // The reference returns zeros only for fewer than two counts; with an empty mask written with
    // more counts it would report a box around the run ends. An empty mask has no box.
    return {0, 0, 0, 0};
  }
  return {static_cast<double>(xs), static_cast<double>(ys), static_cast<double>(xe - xs + 1),
          static_cast<double>(ye - ys + 1)};
}

}  // namespace studio
