#include "eval/eval_reports.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "eval/iou.h"

// Reports derived from an evaluation: everything is read out of pycocotools' accumulated arrays
// (so a per-category AP is exactly what COCOeval would average into the overall AP), except the
// confusion matrix, which needs its own greedy matching across classes.

namespace studio {
namespace {

// Index of the threshold equal to `value` (within rounding of linspace), or -1.
int index_of(const std::vector<double>& values, double value) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (std::fabs(values[i] - value) < 1e-9) return static_cast<int>(i);
  return -1;
}

std::size_t max_dets_index(const CocoEvalParams& p, int wanted) {
  for (std::size_t i = 0; i < p.max_dets.size(); ++i)
    if (p.max_dets[i] == wanted) return i;
  return p.max_dets.empty() ? 0 : p.max_dets.size() - 1;
}

std::size_t area_index(const CocoEvalParams& p, const char* name, std::size_t fallback) {
  for (std::size_t i = 0; i < p.area_names.size(); ++i)
    if (p.area_names[i] == name) return i;
  return fallback;
}

// Mean of the defined (> -1) precision entries over IoU thresholds `ts` and all recall thresholds.
double mean_precision(const CocoEvalResult& r, const std::vector<std::size_t>& ts, std::size_t k,
                      std::size_t a, std::size_t m) {
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t t : ts)
    for (std::size_t ri = 0; ri < r.R(); ++ri) {
      const double p = r.precision_at(t, ri, k, a, m);
      if (p > -1) {
        sum += p;
        ++n;
      }
    }
  return n ? sum / static_cast<double>(n) : -1;
}

// A ground truth's mask for the confusion matrix; box-only annotations count as their rectangle.
Rle gt_mask(const Annotation& a, std::uint32_t h, std::uint32_t w) {
  if (a.rle) return *a.rle;
  if (!a.polygons.empty()) return rle_from_polygons(a.polygons, h, w);
  const auto& b = a.bbox;
  return rle_from_polygon({b[0], b[1], b[0], b[1] + b[3], b[0] + b[2], b[1] + b[3], b[0] + b[2], b[1]}, h, w);
}

Rle dt_mask(const Detection& d, std::uint32_t h, std::uint32_t w) {
  if (d.segm) return *d.segm;
  const auto& b = d.bbox;
  return rle_from_polygon({b[0], b[1], b[0], b[1] + b[3], b[0] + b[2], b[1] + b[3], b[0] + b[2], b[1]}, h, w);
}

}  // namespace

std::vector<CategoryRow> per_category_table(const CocoEvalResult& result, const Dataset& gt) {
  const CocoEvalParams& p = result.params;
  const std::size_t m100 = max_dets_index(p, 100);
  const std::size_t all = area_index(p, "all", 0);
  const int t50 = index_of(p.iou_thrs, 0.5), t75 = index_of(p.iou_thrs, 0.75);
  std::vector<std::size_t> every_t(result.T());
  for (std::size_t t = 0; t < every_t.size(); ++t) every_t[t] = t;

  std::unordered_map<std::int64_t, std::size_t> gt_counts;
  for (const Annotation& a : gt.annotations)
    if (!a.iscrowd) ++gt_counts[a.category_id];

  std::vector<CategoryRow> rows;
  rows.reserve(result.K());
  for (std::size_t k = 0; k < result.K(); ++k) {
    CategoryRow row;
    row.category_id = result.cat_ids[k];
    if (const Category* c = gt.category_by_id(row.category_id)) row.name = c->name;
    row.gt_count = gt_counts[row.category_id];
    if (result.precision.empty()) {
      rows.push_back(row);
      continue;
    }
    row.ap = mean_precision(result, every_t, k, all, m100);
    if (t50 >= 0) row.ap50 = mean_precision(result, {static_cast<std::size_t>(t50)}, k, all, m100);
    if (t75 >= 0) row.ap75 = mean_precision(result, {static_cast<std::size_t>(t75)}, k, all, m100);
    if (result.A() > 3) {
      row.ap_small = mean_precision(result, every_t, k, area_index(p, "small", 1), m100);
      row.ap_medium = mean_precision(result, every_t, k, area_index(p, "medium", 2), m100);
      row.ap_large = mean_precision(result, every_t, k, area_index(p, "large", 3), m100);
    }
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t t = 0; t < result.T(); ++t) {
      const double r = result.recall_at(t, k, all, m100);
      if (r > -1) {
        sum += r;
        ++n;
      }
    }
    row.ar100 = n ? sum / static_cast<double>(n) : -1;
    rows.push_back(row);
  }
  return rows;
}

std::vector<PrCurve> pr_curves(const CocoEvalResult& result) {
  std::vector<PrCurve> curves;
  if (result.precision.empty()) return curves;
  const CocoEvalParams& p = result.params;
  const std::size_t m100 = max_dets_index(p, 100);
  const std::size_t all = area_index(p, "all", 0);
  for (double iou : {0.5, 0.75}) {
    const int t = index_of(p.iou_thrs, iou);
    if (t < 0) continue;
    PrCurve mean;
    mean.category_id = 0;
    mean.iou = iou;
    mean.recall = p.rec_thrs;
    mean.precision.assign(result.R(), -1);
    std::vector<double> sum(result.R(), 0);
    std::vector<std::size_t> n(result.R(), 0);
    std::vector<PrCurve> per_cat;
    for (std::size_t k = 0; k < result.K(); ++k) {
      PrCurve c;
      c.category_id = result.cat_ids[k];
      c.iou = iou;
      c.recall = p.rec_thrs;
      c.precision.resize(result.R());
      for (std::size_t r = 0; r < result.R(); ++r) {
        const double v = result.precision_at(static_cast<std::size_t>(t), r, k, all, m100);
        c.precision[r] = v;
        if (v > -1) {
          sum[r] += v;
          ++n[r];
        }
      }
      per_cat.push_back(std::move(c));
    }
    for (std::size_t r = 0; r < result.R(); ++r)
      if (n[r]) mean.precision[r] = sum[r] / static_cast<double>(n[r]);
    curves.push_back(std::move(mean));
    for (auto& c : per_cat) curves.push_back(std::move(c));
  }
  return curves;
}

ConfusionMatrix confusion_matrix(const Dataset& gt, const std::vector<Detection>& dt, IouType type,
                                 double iou_threshold, double score_threshold) {
  ConfusionMatrix cm;
  const std::size_t K = gt.categories.size();
  for (const Category& c : gt.categories) {
    cm.category_ids.push_back(c.id);
    cm.names.push_back(c.name);
  }
  cm.counts.assign((K + 1) * (K + 1), 0);
  auto count = [&](std::size_t row, std::size_t col) { ++cm.counts[row * (K + 1) + col]; };

  std::unordered_map<std::int64_t, std::vector<const Detection*>> dt_by_image;
  for (const Detection& d : dt)
    if (d.score >= score_threshold && gt.category_index(d.category_id) >= 0)
      dt_by_image[d.image_id].push_back(&d);

  for (const ImageInfo& image : gt.images) {
    // Crowd regions and difficult objects are never counted as missed; a detection on one that
    // matches nothing else is not counted as a false positive either (COCO's crowd rule).
    std::vector<const Annotation*> gts, ignored;
    for (std::size_t i : gt.annotations_of(image.id)) {
      const Annotation& a = gt.annotations[i];
      if (gt.category_index(a.category_id) < 0) continue;
      (a.iscrowd || a.difficult ? ignored : gts).push_back(&a);
    }
    auto it = dt_by_image.find(image.id);
    std::vector<const Detection*> dets;
    if (it != dt_by_image.end()) dets = it->second;
    std::stable_sort(dets.begin(), dets.end(),
                     [](const Detection* a, const Detection* b) { return a->score > b->score; });

    std::vector<double> iou, iou_ignored;  // D x G and D x I
    if (!dets.empty() && (!gts.empty() || !ignored.empty())) {
      if (type == IouType::Bbox) {
        std::vector<Box> db, gb, ib;
        for (const Detection* d : dets) db.push_back(d->bbox);
        for (const Annotation* a : gts) gb.push_back(a->bbox);
        for (const Annotation* a : ignored) ib.push_back(a->bbox);
        iou = box_iou(db, gb, {});
        iou_ignored = box_iou(db, ib, std::vector<bool>(ib.size(), true));
      } else {
        auto h = static_cast<std::uint32_t>(image.height), w = static_cast<std::uint32_t>(image.width);
        // An image of unknown size (unreadable in a TXT list) takes its size from a detection's mask.
        for (const Detection* d : dets)
          if ((h == 0 || w == 0) && d->segm) {
            h = d->segm->h;
            w = d->segm->w;
          }
        std::vector<Rle> dm, gm, im;
        for (const Detection* d : dets) dm.push_back(dt_mask(*d, h, w));
        for (const Annotation* a : gts) gm.push_back(gt_mask(*a, h, w));
        for (const Annotation* a : ignored) im.push_back(gt_mask(*a, h, w));
        auto ptrs = [](const std::vector<Rle>& v) {
          std::vector<const Rle*> p;
          for (const Rle& r : v) p.push_back(&r);
          return p;
        };
        iou = rle_iou(ptrs(dm), ptrs(gm), {});
        iou_ignored = rle_iou(ptrs(dm), ptrs(im), std::vector<bool>(im.size(), true));
      }
    }

    std::vector<bool> taken(gts.size(), false);
    for (std::size_t d = 0; d < dets.size(); ++d) {
      const auto dc = static_cast<std::size_t>(gt.category_index(dets[d]->category_id));
      double best = iou_threshold;
      int match = -1;
      for (std::size_t g = 0; g < gts.size(); ++g) {
        const double o = iou[d * gts.size() + g];
        if (!taken[g] && o >= best && (match < 0 || o > best)) {
          best = o;
          match = static_cast<int>(g);
        }
      }
      if (match >= 0) {
        taken[static_cast<std::size_t>(match)] = true;
        count(static_cast<std::size_t>(gt.category_index(gts[static_cast<std::size_t>(match)]->category_id)),
              dc);
        continue;
      }
      bool on_ignored = false;
      for (std::size_t g = 0; g < ignored.size(); ++g)
        if (iou_ignored[d * ignored.size() + g] >= iou_threshold) on_ignored = true;
      if (!on_ignored) count(K, dc);
    }
    for (std::size_t g = 0; g < gts.size(); ++g)
      if (!taken[g]) count(static_cast<std::size_t>(gt.category_index(gts[g]->category_id)), K);
  }
  return cm;
}

}  // namespace studio
