// COCOeval.computeIoU + evaluateImg for one (image, category): the IoUs of the top detections
// against every gt, then greedy matching per IoU threshold and area range, rule for rule as
// pycocotools does it (see the comments for the less obvious ones).
#include <algorithm>
#include <numeric>

#include "common/error.h"
#include "eval/coco_eval_internal.h"
#include "eval/iou_runs.h"

namespace studio::coco_detail {
namespace {

bool outside(double area, const std::array<double, 2>& rng) { return area < rng[0] || area > rng[1]; }

RunMask gt_mask(const Annotation& a, const ImageInfo& img) {
  // pycocotools' annToRLE: polygons rasterised at the image size and merged; RLE as given.
  if (a.rle) return make_run_mask(*a.rle);
  const auto h = static_cast<std::uint32_t>(std::max(img.height, 0));
  const auto w = static_cast<std::uint32_t>(std::max(img.width, 0));
  // frPyObjects decides by the FIRST polygon: one of exactly 4 numbers makes it read every entry
  // as a box [x, y, w, h] (rasterised as the rectangle polygon), a quirk kept for exact numbers.
  if (!a.polygons.empty() && a.polygons[0].size() == 4) {
    std::vector<std::vector<double>> boxes;
    for (const auto& b : a.polygons) {
      if (b.size() != 4) continue;
      const double xs = b[0], ys = b[1], xe = b[0] + b[2], ye = b[1] + b[3];
      boxes.push_back({xs, ys, xs, ye, xe, ye, xe, ys});
    }
    return make_run_mask(rle_from_polygons(boxes, h, w));
  }
  return make_run_mask(rle_from_polygons(a.polygons, h, w));
}

}  // namespace

void evaluate_pair(const EvalInput& in, std::uint32_t k, std::uint32_t i, PairResult& out) {
  const CocoEvalParams& p = *in.params;
  const std::size_t I = in.img_ids.size();
  const std::size_t key = k * I + i;
  const std::uint32_t* gidx = in.gt_idx.data() + in.gt_start[key];
  const std::size_t G = in.gt_start[key + 1] - in.gt_start[key];
  const std::uint32_t* didx = in.dt_idx.data() + in.dt_start[key];
  const std::size_t D_all = in.dt_start[key + 1] - in.dt_start[key];
  const auto& anns = in.gt->annotations;
  const auto& dets = *in.dt;

  // Detections by score, highest first; ties keep file order (numpy mergesort is stable).
  std::vector<std::uint32_t> dord(didx, didx + D_all);
  std::stable_sort(dord.begin(), dord.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return dets[a].score > dets[b].score; });
  const std::size_t D =
      std::min<std::size_t>(D_all, static_cast<std::size_t>(std::max(p.max_dets.back(), 0)));
  dord.resize(D);

  // IoU [D][G] in the gt file order (computeIoU).
  std::vector<double> ious(D * G);
  if (D > 0 && G > 0) {
    if (in.type == IouType::Bbox) {
      for (std::size_t d = 0; d < D; ++d)
        for (std::size_t g = 0; g < G; ++g)
          ious[d * G + g] = box_pair_iou(dets[dord[d]].bbox, anns[gidx[g]].bbox, anns[gidx[g]].iscrowd);
    } else {
      std::vector<RunMask> gm(G), dm(D);
      for (std::size_t g = 0; g < G; ++g) gm[g] = gt_mask(anns[gidx[g]], *in.images[i]);
      for (std::size_t d = 0; d < D; ++d) {
        const Detection& det = dets[dord[d]];
        if (!det.segm)
          throw Error("segm evaluation: a detection on image " + std::to_string(det.image_id) +
                      " has no segmentation");
        dm[d] = make_run_mask(*det.segm);
      }
      for (std::size_t d = 0; d < D; ++d)
        for (std::size_t g = 0; g < G; ++g)
          ious[d * G + g] = run_mask_iou(dm[d], gm[g], anns[gidx[g]].iscrowd);
    }
  }

  const std::size_t T = p.iou_thrs.size(), A = p.area_ranges.size();
  out.k = k;
  out.i = i;
  out.scores.resize(D);
  for (std::size_t d = 0; d < D; ++d) out.scores[d] = dets[dord[d]].score;
  out.states.assign(A * T * D, kFalsePositive);
  out.npig.assign(A, 0);

  std::vector<std::uint32_t> gord(G);            // gt positions, ignored last (stable)
  std::vector<std::uint8_t> gt_ig(G), crowd(G);  // in gord order
  std::vector<std::uint8_t> gt_matched(G);
  std::vector<std::int64_t> dt_match_id(D);  // dtMatches: the matched gt's id, 0 when unmatched
  std::vector<std::uint8_t> dt_ig(D);
  std::vector<double> iou_sorted(D * G);
  for (std::size_t a = 0; a < A; ++a) {
    const auto& rng = p.area_ranges[a];
    // gt '_ignore' = iscrowd or annotation area outside the range; argsort(kind='mergesort').
    std::size_t n = 0;
    for (int pass = 0; pass < 2; ++pass)
      for (std::size_t g = 0; g < G; ++g) {
        const Annotation& ann = anns[gidx[g]];
        const bool ig = ann.iscrowd || outside(ann.area, rng);
        if (ig == (pass == 1)) gord[n++] = static_cast<std::uint32_t>(g);
      }
    std::uint32_t npig = 0;
    for (std::size_t g = 0; g < G; ++g) {
      const Annotation& ann = anns[gidx[gord[g]]];
      gt_ig[g] = ann.iscrowd || outside(ann.area, rng);
      crowd[g] = ann.iscrowd;
      npig += gt_ig[g] == 0;
    }
    out.npig[a] = npig;
    for (std::size_t d = 0; d < D; ++d)
      for (std::size_t g = 0; g < G; ++g) iou_sorted[d * G + g] = ious[d * G + gord[g]];

    for (std::size_t t = 0; t < T; ++t) {
      std::fill(gt_matched.begin(), gt_matched.end(), 0);
      std::uint8_t* st = out.states.data() + (a * T + t) * D;
      const double thr = std::min(p.iou_thrs[t], 1 - 1e-10);
      for (std::size_t d = 0; d < D; ++d) {
        double best = thr;
        std::ptrdiff_t m = -1;
        const double* row = iou_sorted.data() + d * G;
        if (G > 0) {
          for (std::size_t g = 0; g < G; ++g) {
            if (gt_matched[g] && !crowd[g]) continue;  // taken, and only crowds take several
            // Once matched to a regular gt, the ignored ones (sorted last) can't replace it.
            if (m > -1 && gt_ig[m] == 0 && gt_ig[g] == 1) break;
            if (row[g] < best) continue;
            best = row[g];
            m = static_cast<std::ptrdiff_t>(g);
          }
        }
        dt_ig[d] = 0;
        dt_match_id[d] = 0;
        if (m > -1) {
          dt_ig[d] = gt_ig[m];
          dt_match_id[d] = anns[gidx[gord[m]]].id;
          gt_matched[m] = 1;  // pycocotools stores the dt id (>= 1), only its non-zeroness is read
        }
        // Unmatched detections outside the range are ignored. pycocotools tests dtMatches == 0, so
        // a match with a gt whose id is 0 reads as unmatched here and in accumulate.
        const bool ign = dt_ig[d] || (dt_match_id[d] == 0 && outside(dets[dord[d]].area, rng));
        st[d] = ign ? kIgnored : (dt_match_id[d] != 0 ? kTruePositive : kFalsePositive);
      }
    }
  }
}

}  // namespace studio::coco_detail
