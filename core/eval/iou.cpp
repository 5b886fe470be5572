// IoU on boxes and on run-length masks, following maskApi.c (bbIou, rleIou) operation for
// operation so that the values are bit-identical to pycocotools'.
#include "eval/iou.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "eval/iou_runs.h"

namespace studio {

RunMask make_run_mask(const Rle& rle) {
  RunMask m;
  m.h = rle.h;
  m.w = rle.w;
  const std::uint64_t total = std::uint64_t{rle.h} * rle.w;
  if (total >= (std::uint64_t{1} << 32))
    throw Error("mask of " + std::to_string(rle.h) + "x" + std::to_string(rle.w) +
                " pixels is too large for IoU");
  std::uint64_t pos = 0;
  bool first = true;
  for (std::size_t j = 0; j < rle.counts.size(); ++j) {
    const std::uint64_t len = rle.counts[j];
    if ((j & 1) && len > 0) {
      const auto b = static_cast<std::uint32_t>(pos), e = static_cast<std::uint32_t>(pos + len);
      // Merge with the previous run when a zero-length background run separated them.
      if (!m.runs.empty() && m.runs.back() == b) {
        m.runs.back() = e;
      } else {
        m.runs.push_back(b);
        m.runs.push_back(e);
      }
      m.area += len;
      const std::uint32_t xb = b / m.h, xe = (e - 1) / m.h;
      const std::uint32_t yb = b % m.h, ye = (e - 1) % m.h;
      std::uint32_t lo = yb, hi = ye;
      if (xb != xe) lo = 0, hi = m.h - 1;  // a run crossing a column boundary covers all rows' span
      if (first) {
        m.x0 = xb, m.x1 = xe, m.y0 = lo, m.y1 = hi;
        first = false;
      } else {
        m.x0 = std::min(m.x0, xb), m.x1 = std::max(m.x1, xe);
        m.y0 = std::min(m.y0, lo), m.y1 = std::max(m.y1, hi);
      }
    }
    pos += len;
  }
  return m;
}

double box_pair_iou(const Box& d, const Box& g, bool crowd) {
  // Same expressions and evaluation order as maskApi.c's bbIou.
  const double ga = g[2] * g[3];
  const double da = d[2] * d[3];
  const double w = std::fmin(d[2] + d[0], g[2] + g[0]) - std::fmax(d[0], g[0]);
  if (w <= 0) return 0;
  const double h = std::fmin(d[3] + d[1], g[3] + g[1]) - std::fmax(d[1], g[1]);
  if (h <= 0) return 0;
  const double i = w * h;
  const double u = crowd ? da : da + ga - i;
  return i / u;
}

double run_mask_iou(const RunMask& d, const RunMask& g, bool crowd) {
  if (d.h != g.h || d.w != g.w)
    throw Error("mask sizes differ: " + std::to_string(d.h) + "x" + std::to_string(d.w) + " vs " +
                std::to_string(g.h) + "x" + std::to_string(g.w));
  // pycocotools first checks the boxes; with tight boxes that only skips pairs whose
  // intersection is empty, which also give 0 below.
  if (d.area == 0 || g.area == 0) return 0;
  if (d.x1 < g.x0 || g.x1 < d.x0 || d.y1 < g.y0 || g.y1 < d.y0) return 0;
  // Only runs inside the shared columns can intersect: start both lists there.
  const std::uint32_t lo = std::max(d.x0, g.x0) * d.h;
  const std::uint64_t hi = (std::uint64_t{std::min(d.x1, g.x1)} + 1) * d.h;
  const std::uint32_t* a = d.runs.data();
  const std::uint32_t* a_end = a + d.runs.size();
  const std::uint32_t* b = g.runs.data();
  const std::uint32_t* b_end = b + g.runs.size();
  // Skip runs ending at or before `lo` (ends sit at odd positions; binary search on pairs).
  auto skip = [lo](const std::uint32_t* p, const std::uint32_t* end) {
    std::size_t n = static_cast<std::size_t>(end - p) / 2, first = 0;
    while (n > 0) {
      const std::size_t half = n / 2;
      if (p[2 * (first + half) + 1] <= lo) {
        first += half + 1;
        n -= half + 1;
      } else {
        n = half;
      }
    }
    return p + 2 * first;
  };
  a = skip(a, a_end);
  b = skip(b, b_end);
  std::uint64_t inter = 0;
  while (a != a_end && b != b_end) {
    if (a[0] >= hi || b[0] >= hi) break;
    const std::uint32_t s = std::max(a[0], b[0]);
    const std::uint32_t e = std::min(a[1], b[1]);
    if (s < e) inter += e - s;
    if (a[1] < b[1]) {
      a += 2;
    } else {
      b += 2;
    }
  }
  if (inter == 0) return 0;
  const std::uint64_t u = crowd ? d.area : d.area + g.area - inter;
  return static_cast<double>(inter) / static_cast<double>(u);
}

std::vector<double> box_iou(const std::vector<Box>& dt, const std::vector<Box>& gt,
                            const std::vector<bool>& crowd) {
  if (!crowd.empty() && crowd.size() != gt.size())
    throw Error("box_iou: " + std::to_string(crowd.size()) + " crowd flags for " + std::to_string(gt.size()) +
                " boxes");
  const std::size_t G = gt.size();
  std::vector<double> out(dt.size() * G);
  for (std::size_t d = 0; d < dt.size(); ++d)
    for (std::size_t g = 0; g < G; ++g)
      out[d * G + g] = box_pair_iou(dt[d], gt[g], !crowd.empty() && crowd[g]);
  return out;
}

std::vector<double> rle_iou(const std::vector<const Rle*>& dt, const std::vector<const Rle*>& gt,
                            const std::vector<bool>& crowd) {
  if (!crowd.empty() && crowd.size() != gt.size())
    throw Error("rle_iou: " + std::to_string(crowd.size()) + " crowd flags for " + std::to_string(gt.size()) +
                " masks");
  std::vector<RunMask> dm, gm;
  dm.reserve(dt.size());
  gm.reserve(gt.size());
  for (const Rle* r : dt) dm.push_back(make_run_mask(*r));
  for (const Rle* r : gt) gm.push_back(make_run_mask(*r));
  const std::size_t G = gt.size();
  std::vector<double> out(dt.size() * G);
  for (std::size_t d = 0; d < dm.size(); ++d)
    for (std::size_t g = 0; g < G; ++g)
      out[d * G + g] = run_mask_iou(dm[d], gm[g], !crowd.empty() && crowd[g]);
  return out;
}

}  // namespace studio
