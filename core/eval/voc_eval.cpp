#include "eval/voc_eval.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <unordered_map>

// Pascal VOC mAP as the devkit computes it (VOCevaldet.m / the widely copied voc_eval.py), so
// numbers match published VOC tables. Differences from COCO that matter: one IoU threshold, no
// area ranges, no detection limit per image, and the 11-point or full-envelope AP.

namespace studio {
namespace {

// IoU of two [x, y, w, h] boxes in continuous coordinates (equal to the devkit's +1 inclusive
// pixel arithmetic on the converted boxes).
double box_overlap(const std::array<double, 4>& a, const std::array<double, 4>& b) {
  const double iw = std::min(a[0] + a[2], b[0] + b[2]) - std::max(a[0], b[0]);
  const double ih = std::min(a[1] + a[3], b[1] + b[3]) - std::max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const double inter = iw * ih;
  const double uni = a[2] * a[3] + b[2] * b[3] - inter;
  return uni > 0 ? inter / uni : 0;
}

double ap_11_point(const std::vector<double>& rec, const std::vector<double>& prec) {
  double ap = 0;
  for (int i = 0; i <= 10; ++i) {
    // voc_eval.py iterates numpy.arange(0., 1.1, 0.1), whose values are i * 0.1 (0.30000000000000004
    // for i = 3); using the same doubles keeps a recall of exactly 0.3 on the same side.
    const double t = i * 0.1;
    double p = 0;
    for (std::size_t k = 0; k < rec.size(); ++k)
      if (rec[k] >= t) p = std::max(p, prec[k]);
    ap += p / 11.0;
  }
  return ap;
}

double ap_area(const std::vector<double>& rec, const std::vector<double>& prec) {
  std::vector<double> mrec{0.0}, mpre{0.0};
  mrec.insert(mrec.end(), rec.begin(), rec.end());
  mpre.insert(mpre.end(), prec.begin(), prec.end());
  mrec.push_back(1.0);
  mpre.push_back(0.0);
  for (std::size_t i = mpre.size() - 1; i > 0; --i) mpre[i - 1] = std::max(mpre[i - 1], mpre[i]);
  double ap = 0;
  for (std::size_t i = 0; i + 1 < mrec.size(); ++i)
    if (mrec[i + 1] != mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  return ap;
}

}  // namespace

VocEvalResult evaluate_voc(const Dataset& gt, const std::vector<Detection>& dt, VocApMethod method,
                           double iou_threshold) {
  VocEvalResult result;
  result.method = method;
  result.iou_threshold = iou_threshold;
  const std::size_t num_classes = gt.categories.size();

  // Ground truth per (class, image). Crowd regions (a COCO ground truth evaluated by VOC rules)
  // are treated like difficult objects: matching them is neither right nor wrong.
  struct GtBox {
    std::array<double, 4> box;
    bool ignore;
    bool taken = false;
  };
  std::vector<std::unordered_map<std::int64_t, std::vector<GtBox>>> gt_boxes(num_classes);
  result.classes.resize(num_classes);
  for (std::size_t c = 0; c < num_classes; ++c) {
    result.classes[c].category_id = gt.categories[c].id;
    result.classes[c].name = gt.categories[c].name;
  }
  for (const Annotation& a : gt.annotations) {
    const int c = gt.category_index(a.category_id);
    if (c < 0) continue;
    const bool ignore = a.difficult || a.iscrowd;
    gt_boxes[c][a.image_id].push_back({a.bbox, ignore});
    if (!ignore) ++result.classes[c].gt_count;
  }

  std::vector<std::vector<const Detection*>> per_class(num_classes);
  for (const Detection& d : dt) {
    const int c = gt.category_index(d.category_id);
    if (c >= 0) per_class[c].push_back(&d);
  }

  double sum = 0;
  std::size_t counted = 0;
  for (std::size_t c = 0; c < num_classes; ++c) {
    VocClassAp& cls = result.classes[c];
    auto& dets = per_class[c];
    std::stable_sort(dets.begin(), dets.end(),
                     [](const Detection* a, const Detection* b) { return a->score > b->score; });
    cls.detections = dets.size();
    std::size_t tp = 0, fp = 0;
    for (const Detection* d : dets) {
      auto it = gt_boxes[c].find(d->image_id);
      double best = -1;
      GtBox* match = nullptr;
      if (it != gt_boxes[c].end()) {
        // The devkit takes the highest-IoU object whether or not it is already taken or
        // difficult, so a duplicate is a false positive even when another object is free.
        for (GtBox& g : it->second) {
          const double o = box_overlap(d->bbox, g.box);
          if (o > best) {
            best = o;
            match = &g;
          }
        }
      }
      if (match != nullptr && best >= iou_threshold) {
        if (match->ignore) continue;  // neither TP nor FP: left out of the curve
        if (!match->taken) {
          match->taken = true;
          ++tp;
        } else {
          ++fp;
        }
      } else {
        ++fp;
      }
      cls.recall.push_back(cls.gt_count ? static_cast<double>(tp) / static_cast<double>(cls.gt_count) : 0.0);
      cls.precision.push_back(static_cast<double>(tp) / static_cast<double>(tp + fp));
    }
    if (cls.gt_count == 0) {
      cls.ap = -1;  // undefined: recall has no denominator
      continue;
    }
    cls.ap = method == VocApMethod::Points11 ? ap_11_point(cls.recall, cls.precision)
                                             : ap_area(cls.recall, cls.precision);
    sum += cls.ap;
    ++counted;
  }
  result.map = counted ? sum / static_cast<double>(counted) : 0.0;
  return result;
}

std::string format_voc(const VocEvalResult& result) {
  std::size_t width = 5;
  for (const auto& c : result.classes) width = std::max(width, c.name.size());
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "VOC mAP (%s, IoU %.2f)\n",
                result.method == VocApMethod::Points11 ? "VOC07 11-point" : "area under the curve",
                result.iou_threshold);
  out += line;
  std::snprintf(line, sizeof line, "%-*s %8s %10s %8s\n", static_cast<int>(width), "class", "gt", "dets",
                "AP");
  out += line;
  for (const auto& c : result.classes) {
    char ap[32];
    if (c.ap < 0)
      std::snprintf(ap, sizeof ap, "%8s", "-");
    else
      std::snprintf(ap, sizeof ap, "%8.4f", c.ap);
    std::snprintf(line, sizeof line, "%-*s %8zu %10zu %s\n", static_cast<int>(width), c.name.c_str(),
                  c.gt_count, c.detections, ap);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-*s %8s %10s %8.4f\n", static_cast<int>(width), "mAP", "", "",
                result.map);
  out += line;
  return out;
}

}  // namespace studio
