#include "data/stats.h"

#include "common/number_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace studio {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// COCO's area ranges (cocoeval.py areaRng): small below 32^2, large above 96^2.
constexpr double kSmallArea = 32.0 * 32.0;
constexpr double kLargeArea = 96.0 * 96.0;

// Box size bins in pixels of sqrt(w*h): fine where COCO's small/medium/large boundaries (32, 96)
// and typical input sizes fall, open-ended at the top.
Histogram sqrt_area_bins() {
  Histogram h;
  h.edges = {0, 8, 16, 32, 64, 96, 128, 256, 512, kInf};
  h.counts.assign(h.edges.size() - 1, 0);
  return h;
}

// log2(w/h): symmetric around square boxes; the outer bins catch everything beyond 8:1.
Histogram aspect_bins() {
  Histogram h;
  h.edges = {-kInf, -3, -2, -1, -0.5, 0.5, 1, 2, 3, kInf};
  h.counts.assign(h.edges.size() - 1, 0);
  return h;
}

void add_to(Histogram& h, double v) {
  // upper_bound gives the first edge above v, so v lands in [edges[i], edges[i+1]).
  auto it = std::upper_bound(h.edges.begin(), h.edges.end(), v);
  if (it == h.edges.begin() || it == h.edges.end()) return;
  ++h.counts[static_cast<std::size_t>(it - h.edges.begin()) - 1];
}

std::string num(double v) { return short_number(v); }

std::string pad_left(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}
std::string pad_right(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

// "[16, 32)" for size bins; aspect bins are shown as w/h ratios ("1:2 .. 1:1.41") since log2
// values mean little to a reader.
std::string size_bin_label(const Histogram& h, std::size_t i) {
  if (std::isinf(h.edges[i + 1])) return ">= " + num(h.edges[i]);
  return "[" + num(h.edges[i]) + ", " + num(h.edges[i + 1]) + ")";
}
std::string ratio_text(double log2_ratio) {
  const double r = std::exp2(log2_ratio);
  return r >= 1 ? num(r) + ":1" : "1:" + num(1.0 / r);
}
std::string aspect_bin_label(const Histogram& h, std::size_t i) {
  if (std::isinf(h.edges[i])) return "w:h < " + ratio_text(h.edges[i + 1]);
  if (std::isinf(h.edges[i + 1])) return "w:h >= " + ratio_text(h.edges[i]);
  return "w:h " + ratio_text(h.edges[i]) + " .. " + ratio_text(h.edges[i + 1]);
}

template <typename Label>
void histogram_text(std::string& out, const std::string& title, const Histogram& h, Label label) {
  out += title + "\n";
  std::size_t label_width = 0;
  std::size_t count_width = 1;
  std::size_t top = 0;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    label_width = std::max(label_width, label(h, i).size());
    count_width = std::max(count_width, std::to_string(h.counts[i]).size());
    top = std::max(top, h.counts[i]);
  }
  constexpr std::size_t kBarWidth = 40;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    const std::size_t bar = top == 0 ? 0 : (h.counts[i] * kBarWidth + top - 1) / top;
    out += "  " + pad_right(label(h, i), label_width) + "  " + pad_left(std::to_string(h.counts[i]), count_width) +
           "  " + std::string(bar, '#') + "\n";
  }
}

void histogram_json(rapidjson::Writer<rapidjson::StringBuffer>& w, const Histogram& h) {
  w.StartObject();
  w.Key("edges");
  w.StartArray();
  // JSON has no infinity; an open end is written as null.
  for (double e : h.edges) std::isinf(e) ? w.Null() : w.Double(e);
  w.EndArray();
  w.Key("counts");
  w.StartArray();
  for (std::size_t c : h.counts) w.Uint64(c);
  w.EndArray();
  w.EndObject();
}

}  // namespace

DatasetStats compute_stats(const Dataset& dataset) {
  DatasetStats s;
  s.images = dataset.images.size();
  s.annotations = dataset.annotations.size();
  s.box_sqrt_area = sqrt_area_bins();
  s.aspect_ratio = aspect_bins();

  std::unordered_map<std::int64_t, std::size_t> class_pos;
  for (const Category& c : dataset.categories) {
    if (!class_pos.emplace(c.id, s.classes.size()).second) continue;  // a repeated id counts once
    s.classes.push_back(ClassStats{c.id, c.name, 0, 0});
  }
  std::vector<std::unordered_set<std::int64_t>> class_images(s.classes.size());
  std::unordered_set<std::int64_t> annotated_images;

  for (const Annotation& a : dataset.annotations) {
    if (a.iscrowd) ++s.crowd;
    if (a.difficult) ++s.difficult;
    annotated_images.insert(a.image_id);
    auto it = class_pos.find(a.category_id);
    if (it != class_pos.end()) {
      ++s.classes[it->second].annotations;
      class_images[it->second].insert(a.image_id);
    }
    const double w = a.bbox[2];
    const double h = a.bbox[3];
    const bool box_ok = std::isfinite(w) && std::isfinite(h) && w > 0 && h > 0;
    // COCO sizes go by the annotation's area (the mask area), as cocoeval does; a dataset built in
    // code may leave it 0, and then the box area stands in.
    const double area = a.area > 0 ? a.area : (box_ok ? w * h : 0.0);
    if (area > 0) {
      if (area < kSmallArea) ++s.coco_sizes[0];
      else if (area > kLargeArea) ++s.coco_sizes[2];
      else ++s.coco_sizes[1];
    }
    if (box_ok) {
      add_to(s.box_sqrt_area, std::sqrt(w * h));
      add_to(s.aspect_ratio, std::log2(w / h));
    }
  }
  for (std::size_t c = 0; c < s.classes.size(); ++c) s.classes[c].images = class_images[c].size();
  std::unordered_set<std::int64_t> seen_images;
  for (const ImageInfo& img : dataset.images) {
    if (seen_images.insert(img.id).second && annotated_images.count(img.id) == 0) ++s.images_without_annotations;
  }
  return s;
}

std::string stats_to_json(const DatasetStats& s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("images");
  w.Uint64(s.images);
  w.Key("annotations");
  w.Uint64(s.annotations);
  w.Key("crowd");
  w.Uint64(s.crowd);
  w.Key("difficult");
  w.Uint64(s.difficult);
  w.Key("images_without_annotations");
  w.Uint64(s.images_without_annotations);
  w.Key("classes");
  w.StartArray();
  for (const ClassStats& c : s.classes) {
    w.StartObject();
    w.Key("id");
    w.Int64(c.category_id);
    w.Key("name");
    w.String(c.name.c_str(), static_cast<rapidjson::SizeType>(c.name.size()));
    w.Key("annotations");
    w.Uint64(c.annotations);
    w.Key("images");
    w.Uint64(c.images);
    w.EndObject();
  }
  w.EndArray();
  w.Key("coco_sizes");
  w.StartObject();
  w.Key("small");
  w.Uint64(s.coco_sizes[0]);
  w.Key("medium");
  w.Uint64(s.coco_sizes[1]);
  w.Key("large");
  w.Uint64(s.coco_sizes[2]);
  w.EndObject();
  w.Key("box_sqrt_area");
  histogram_json(w, s.box_sqrt_area);
  w.Key("aspect_ratio_log2");
  histogram_json(w, s.aspect_ratio);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string stats_to_text(const DatasetStats& s) {
  std::string out;
  out += "images       " + std::to_string(s.images) + " (" + std::to_string(s.images_without_annotations) +
         " without annotations)\n";
  out += "annotations  " + std::to_string(s.annotations) + " (crowd " + std::to_string(s.crowd) + ", difficult " +
         std::to_string(s.difficult) + ")\n\n";

  // Class table: columns as wide as their widest cell.
  const std::vector<std::string> head = {"id", "class", "annotations", "images"};
  std::vector<std::vector<std::string>> rows;
  for (const ClassStats& c : s.classes)
    rows.push_back({std::to_string(c.category_id), c.name, std::to_string(c.annotations), std::to_string(c.images)});
  std::vector<std::size_t> width(head.size());
  for (std::size_t k = 0; k < head.size(); ++k) {
    width[k] = head[k].size();
    for (const auto& r : rows) width[k] = std::max(width[k], r[k].size());
  }
  auto row_text = [&](const std::vector<std::string>& r) {
    // Names read left-aligned, numbers right-aligned.
    return pad_left(r[0], width[0]) + "  " + pad_right(r[1], width[1]) + "  " + pad_left(r[2], width[2]) + "  " +
           pad_left(r[3], width[3]) + "\n";
  };
  out += row_text(head);
  for (const auto& r : rows) out += row_text(r);

  out += "\nCOCO sizes by area: small (< 32^2) " + std::to_string(s.coco_sizes[0]) + ", medium " +
         std::to_string(s.coco_sizes[1]) + ", large (> 96^2) " + std::to_string(s.coco_sizes[2]) + "\n\n";
  histogram_text(out, "box size, sqrt(w*h) in px", s.box_sqrt_area, size_bin_label);
  out += "\n";
  histogram_text(out, "box aspect ratio", s.aspect_ratio, aspect_bin_label);
  return out;
}

}  // namespace studio
