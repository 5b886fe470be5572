// COCOeval.accumulate() and summarize(): precision / recall / score tables from the per-pair
// matches, the 12 summary numbers, and the text summarize() prints.
#include <algorithm>
#include <cfloat>
#include <cstdio>

#include "common/error.h"
#include "eval/coco_eval_internal.h"

namespace studio {
namespace coco_detail {
namespace {

struct Entry {
  double score;
  std::uint32_t pair;  // index into the pairs of one category
  std::uint32_t d;     // detection position in that pair
};

// numpy's pairwise summation (what np.mean uses on a contiguous float64 array), so the means
// round as numpy's do.
double pairwise_sum(const double* a, std::size_t n) {
  if (n < 8) {
    double res = 0.;
    for (std::size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (std::size_t j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (std::size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

}  // namespace

void accumulate_pairs(const std::vector<PairResult>& pairs, CocoEvalResult& res, int threads) {
  const CocoEvalParams& p = res.params;
  const std::size_t T = res.T(), R = res.R(), K = res.K(), A = res.A(), M = res.M();
  res.precision.assign(T * R * K * A * M, -1.0);
  res.scores.assign(T * R * K * A * M, -1.0);
  res.recall.assign(T * K * A * M, -1.0);
  // Pairs are sorted by (k, i): category k owns pairs[first[k] .. first[k + 1]), in image order.
  std::vector<std::size_t> first(K + 1, 0);
  for (const auto& pr : pairs) ++first[pr.k + 1];
  for (std::size_t k = 0; k < K; ++k) first[k + 1] += first[k];

  parallel_for(K, threads, [&](std::size_t k) {
    const std::size_t b = first[k], e = first[k + 1];
    if (b == e) return;  // no evaluated image for this category: stays -1
    std::vector<Entry> entries;
    std::vector<double> rc, pr;
    for (std::size_t m = 0; m < M; ++m) {
      const auto max_det = static_cast<std::size_t>(std::max(p.max_dets[m], 0));
      // Concatenate each image's first max_det detections in image order, then a stable sort by
      // descending score: np.argsort(-dtScores, kind='mergesort').
      entries.clear();
      for (std::size_t j = b; j < e; ++j) {
        const std::size_t n = std::min(max_det, pairs[j].scores.size());
        for (std::size_t d = 0; d < n; ++d)
          entries.push_back(
              {pairs[j].scores[d], static_cast<std::uint32_t>(j), static_cast<std::uint32_t>(d)});
      }
      std::stable_sort(entries.begin(), entries.end(),
                       [](const Entry& x, const Entry& y) { return x.score > y.score; });
      const std::size_t nd = entries.size();
      rc.resize(nd);
      pr.resize(nd);
      for (std::size_t a = 0; a < A; ++a) {
        std::uint64_t npig = 0;
        for (std::size_t j = b; j < e; ++j) npig += pairs[j].npig[a];
        if (npig == 0) continue;
        for (std::size_t t = 0; t < T; ++t) {
          double tp = 0, fp = 0;
          for (std::size_t x = 0; x < nd; ++x) {
            const PairResult& pe = pairs[entries[x].pair];
            const std::uint8_t s = pe.states[(a * T + t) * pe.scores.size() + entries[x].d];
            if (s == kTruePositive) tp += 1;
            if (s == kFalsePositive) fp += 1;
            rc[x] = tp / static_cast<double>(npig);
            pr[x] = tp / (fp + tp + DBL_EPSILON);  // np.spacing(1)
          }
          res.recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
          for (std::size_t x = nd; x-- > 1;)
            if (pr[x] > pr[x - 1]) pr[x - 1] = pr[x];
          // np.searchsorted(rc, recThrs, side='left'); entries past the last detection stay 0.
          std::size_t pi = 0;
          for (std::size_t r = 0; r < R; ++r) {
            const double thr = p.rec_thrs[r];
            pi = static_cast<std::size_t>(
                std::lower_bound(rc.begin() + static_cast<std::ptrdiff_t>(pi), rc.end(), thr) - rc.begin());
            const std::size_t at = (((t * R + r) * K + k) * A + a) * M + m;
            res.precision[at] = pi < nd ? pr[pi] : 0;
            res.scores[at] = pi < nd ? entries[pi].score : 0;
          }
        }
      }
    }
  });
}

namespace {

// One _summarize(ap, iouThr, areaRng, maxDets) call; -1 when nothing is defined.
double summarize_one(const CocoEvalResult& res, bool ap, const double* iou_thr, const std::string& area,
                     int max_dets) {
  const CocoEvalParams& p = res.params;
  const std::size_t T = res.T(), R = res.R(), K = res.K(), A = res.A(), M = res.M();
  std::vector<std::size_t> ts, as, ms;
  for (std::size_t t = 0; t < T; ++t)
    if (!iou_thr || p.iou_thrs[t] == *iou_thr) ts.push_back(t);  // np.where(iouThr == p.iouThrs)
  for (std::size_t a = 0; a < A && a < p.area_names.size(); ++a)
    if (p.area_names[a] == area) as.push_back(a);
  for (std::size_t m = 0; m < M; ++m)
    if (p.max_dets[m] == max_dets) ms.push_back(m);
  // s[s > -1] in C order of s[t, (r,) k, a, m].
  std::vector<double> vals;
  for (std::size_t t : ts) {
    const std::size_t rn = ap ? R : 1;
    for (std::size_t r = 0; r < rn; ++r)
      for (std::size_t k = 0; k < K; ++k)
        for (std::size_t a : as)
          for (std::size_t m : ms) {
            const double v = ap ? res.precision_at(t, r, k, a, m) : res.recall_at(t, k, a, m);
            if (v > -1) vals.push_back(v);
          }
  }
  if (vals.empty()) return -1;
  return pairwise_sum(vals.data(), vals.size()) / static_cast<double>(vals.size());
}

}  // namespace

void summarize(CocoEvalResult& res) {
  const auto& md = res.params.max_dets;
  if (md.size() < 3) throw Error("COCO summary needs 3 maxDets values, got " + std::to_string(md.size()));
  const double t50 = .5, t75 = .75;
  res.stats[0] = summarize_one(res, true, nullptr, "all", 100);
  res.stats[1] = summarize_one(res, true, &t50, "all", md[2]);
  res.stats[2] = summarize_one(res, true, &t75, "all", md[2]);
  res.stats[3] = summarize_one(res, true, nullptr, "small", md[2]);
  res.stats[4] = summarize_one(res, true, nullptr, "medium", md[2]);
  res.stats[5] = summarize_one(res, true, nullptr, "large", md[2]);
  res.stats[6] = summarize_one(res, false, nullptr, "all", md[0]);
  res.stats[7] = summarize_one(res, false, nullptr, "all", md[1]);
  res.stats[8] = summarize_one(res, false, nullptr, "all", md[2]);
  res.stats[9] = summarize_one(res, false, nullptr, "small", md[2]);
  res.stats[10] = summarize_one(res, false, nullptr, "medium", md[2]);
  res.stats[11] = summarize_one(res, false, nullptr, "large", md[2]);
}

}  // namespace coco_detail

std::string format_summary(const CocoEvalResult& res) {
  // iStr = ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'
  static const char* const kArea[12] = {"all", "all", "all", "small", "medium", "large",
                                        "all", "all", "all", "small", "medium", "large"};
  const auto& md = res.params.max_dets;
  const int dets[12] = {100, md[2], md[2], md[2], md[2], md[2], md[0], md[1], md[2], md[2], md[2], md[2]};
  std::string out;
  char iou[64], line[256];
  for (int j = 0; j < 12; ++j) {
    const bool ap = j < 6;
    if (j == 1 || j == 2) {
      std::snprintf(iou, sizeof iou, "%0.2f", j == 1 ? .5 : .75);
    } else {
      std::snprintf(iou, sizeof iou, "%0.2f:%0.2f", res.params.iou_thrs.front(), res.params.iou_thrs.back());
    }
    std::snprintf(line, sizeof line, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
                  ap ? "Average Precision" : "Average Recall", ap ? "(AP)" : "(AR)", iou, kArea[j], dets[j],
                  res.stats[static_cast<std::size_t>(j)]);
    out += line;
  }
  return out;
}

const std::array<const char*, 12>& summary_names() {
  static const std::array<const char*, 12> names = {"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                                                    "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
  return names;
}

}  // namespace studio
