#include "data/checker.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/number_text.h"
#include "data/image_io.h"
#include "data/path_rules.h"

namespace studio {

namespace {

// A class needs this many boxes before a size is called unusual: with fewer, the mean and spread
// of the others say too little about what is usual.
constexpr std::size_t kMinSizeSamples = 10;
// Floor for the spread of log box sizes. A class whose boxes all have the same size (synthetic
// data) would otherwise call a box one pixel larger an outlier; 0.1 is about 10% in size.
constexpr double kMinLogSizeStd = 0.1;
// How often the annotation pass looks at the cancel flag (it is cheap per annotation).
constexpr std::size_t kCancelStride = 4096;

std::string num(double v) { return short_number(v); }

std::string box_text(const std::array<double, 4>& b) {
  return "[" + num(b[0]) + "," + num(b[1]) + "," + num(b[2]) + "," + num(b[3]) + "]";
}

std::string size_text(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

double box_iou(const std::array<double, 4>& a, const std::array<double, 4>& b) {
  const double ix = std::min(a[0] + a[2], b[0] + b[2]) - std::max(a[0], b[0]);
  const double iy = std::min(a[1] + a[3], b[1] + b[3]) - std::max(a[1], b[1]);
  if (ix <= 0 || iy <= 0) return 0.0;
  const double inter = ix * iy;
  const double uni = a[2] * a[3] + b[2] * b[3] - inter;
  return uni > 0 ? inter / uni : 0.0;
}

// ---- image decoding ------------------------------------------------------------------------

struct DecodedImage {
  enum class State { NotChecked, Ok, Missing, Unreadable };
  State state = State::NotChecked;
  ImageSize size;
  std::string error;  // decoder's reason when unreadable
};

DecodedImage decode_one(const std::string& path) {
  DecodedImage out;
  std::error_code ec;
  // decode_image_size says "cannot open" both for absent files and unreadable ones; a missing
  // file and a broken one need different fixes, so tell them apart here.
  if (!std::filesystem::exists(path, ec)) {
    out.state = DecodedImage::State::Missing;
    return out;
  }
  std::string error;
  if (auto size = decode_image_size(path, &error)) {
    out.state = DecodedImage::State::Ok;
    out.size = *size;
  } else {
    out.state = DecodedImage::State::Unreadable;
    out.error = error.empty() ? "not a decodable image" : error;
  }
  return out;
}

// Decodes every image entry on `threads` threads. Results are stored by position, so the
// findings built from them do not depend on which thread finished first.
std::vector<DecodedImage> decode_images(const Dataset& dataset, int threads, const Progress& progress) {
  const std::size_t total = dataset.images.size();
  std::vector<DecodedImage> out(total);
  if (total == 0) return out;

  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex report_mutex;  // serialises the callback and keeps `done` monotonic in its reports
  std::size_t done = 0;
  std::mutex failure_mutex;
  std::exception_ptr failure;

  auto worker = [&] {
    try {
      for (;;) {
        if (stop.load(std::memory_order_relaxed) || progress.cancelled()) return;
        const std::size_t i = next.fetch_add(1);
        if (i >= total) return;
        out[i] = decode_one(dataset.image_path(dataset.images[i]));
        std::lock_guard<std::mutex> lock(report_mutex);
        progress(++done, total, "decoding images");
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
  };

  const std::size_t n = std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(threads), total));
  std::vector<std::thread> pool;
  pool.reserve(n - 1);
  for (std::size_t t = 1; t < n; ++t) pool.emplace_back(worker);
  worker();  // the calling thread works too
  for (auto& t : pool) t.join();

  if (failure) std::rethrow_exception(failure);
  progress.check_cancel();
  return out;
}

// ---- the checks ----------------------------------------------------------------------------

struct Context {
  const Dataset& dataset;
  const CheckOptions& options;
  std::vector<Finding> findings;
  std::unordered_map<std::int64_t, std::size_t> image_pos;     // first entry of each image id
  std::unordered_map<std::int64_t, std::size_t> category_pos;  // first entry of each category id
  std::vector<ImageSize> image_size;                           // best known size per entry (0 = unknown)
  std::vector<std::size_t> annotation_count;                   // per image entry
  // Per annotation: its box is finite, positive and inside its image, so the box can be compared
  // with others (duplicates, size statistics) without repeating an error already reported.
  std::vector<bool> box_usable;

  Context(const Dataset& d, const CheckOptions& o) : dataset(d), options(o) {}

  void add(std::string code, Severity severity, std::optional<std::int64_t> image_id,
           std::optional<std::int64_t> annotation_id, std::string file, std::string message,
           std::string source = {}) {
    findings.push_back(Finding{std::move(code), severity, image_id, annotation_id, std::move(file),
                               std::move(message), std::move(source)});
  }

  // A finding about one annotation: its image, its file and where the annotation is written.
  void add(std::string code, Severity severity, const Annotation& ann, std::string message) {
    add(std::move(code), severity, ann.image_id, ann.id, file_of(ann), std::move(message), source_of(ann));
  }

  // "file:line" of an image's entry or of one of its annotations (line 0: the image's own line).
  static std::string source_text(const ImageInfo& image, long line) {
    if (image.source_file.empty()) return {};
    if (line <= 0) line = image.source_line;
    return line > 0 ? image.source_file + ":" + std::to_string(line) : image.source_file;
  }
  std::string source_of(const Annotation& ann) const {
    auto it = image_pos.find(ann.image_id);
    return it == image_pos.end() ? std::string() : source_text(dataset.images[it->second], ann.source_line);
  }

  // The file an annotation finding is about: its image when known, else the annotation source.
  std::string file_of(const Annotation& ann) const {
    auto it = image_pos.find(ann.image_id);
    if (it != image_pos.end()) return dataset.image_path(dataset.images[it->second]);
    return dataset.source;
  }

  std::string class_name(std::int64_t category_id) const {
    auto it = category_pos.find(category_id);
    const std::string name = it == category_pos.end() ? "" : dataset.categories[it->second].name;
    return "'" + (name.empty() ? std::to_string(category_id) : name) + "'";
  }
};

void check_images(Context& ctx, const std::vector<DecodedImage>& decoded) {
  const Dataset& ds = ctx.dataset;
  ctx.image_size.resize(ds.images.size());
  for (std::size_t i = 0; i < ds.images.size(); ++i) {
    const ImageInfo& img = ds.images[i];
    const std::string path = ds.image_path(img);
    const std::string source = Context::source_text(img, 0);
    if (!ctx.image_pos.emplace(img.id, i).second) {
      const ImageInfo& first = ds.images[ctx.image_pos[img.id]];
      ctx.add("duplicate_image_id", Severity::Error, img.id, std::nullopt, path,
              "image id " + std::to_string(img.id) + " is used again (first by '" + first.file_name +
                  "', again by '" + img.file_name + "'); annotations can't tell them apart",
              source);
    }
    // A file name that leaves the image folder (absolute, or climbing out with ..) is read from
    // wherever it points; said, as a dataset from elsewhere may name files it should not.
    if (!ds.image_root.empty() && !img.file_name.empty()) {
      const OutsidePath where = outside_path(img.file_name);
      if (where != OutsidePath::Inside)
        ctx.add("path_outside_image_folder", Severity::Warning, img.id, std::nullopt, path,
                "file_name '" + img.file_name + "' " + outside_path_text(where) + ": it leaves the image folder " +
                    ds.image_root + " (the file read is " + path + "; a dataset with outside_paths: refuse is not read)",
                source);
    }
    if (img.size_from_image)
      ctx.add("size_not_recorded", Severity::Warning, img.id, std::nullopt, path,
              "the annotation file records a width or height of 0; the reader took " +
                  size_text(img.width, img.height) + " from the image file (fix <size> in the annotation file)",
              source);
    // Boxes are checked against the recorded size, which the annotations were made for; the
    // decoded size fills in when none was recorded.
    ctx.image_size[i] = ImageSize{img.width, img.height};
    if (i >= decoded.size()) continue;
    const DecodedImage& d = decoded[i];
    switch (d.state) {
      case DecodedImage::State::NotChecked:
        break;
      case DecodedImage::State::Missing:
        ctx.add("missing_file", Severity::Error, img.id, std::nullopt, path, "image file not found: " + path,
                source);
        break;
      case DecodedImage::State::Unreadable:
        ctx.add("unreadable_image", Severity::Error, img.id, std::nullopt, path,
                "image file exists but can't be decoded (" + d.error + "): " + path, source);
        break;
      case DecodedImage::State::Ok:
        if ((img.width > 0 || img.height > 0) && (img.width != d.size.width || img.height != d.size.height)) {
          ctx.add("size_mismatch", Severity::Error, img.id, std::nullopt, path,
                  "image is recorded as " + size_text(img.width, img.height) + " but the file is " +
                      size_text(d.size.width, d.size.height),
                  source);
        }
        if (img.width <= 0 || img.height <= 0) ctx.image_size[i] = d.size;
        break;
    }
  }
  for (std::size_t i = 0; i < ds.categories.size(); ++i) ctx.category_pos.emplace(ds.categories[i].id, i);
}

// Returns true when the box has a finite position and a finite, positive width and height.
bool check_box_shape(Context& ctx, const Annotation& ann) {
  const auto& b = ann.bbox;
  std::vector<std::string> problems;
  auto side = [&](double v, const char* what) {
    if (std::isnan(v)) problems.push_back(std::string("NaN ") + what);
    else if (std::isinf(v)) problems.push_back(std::string("infinite ") + what);
    else if (v == 0) problems.push_back(std::string("zero ") + what);
    else if (v < 0) problems.push_back(std::string("negative ") + what + " (" + num(v) + ")");
  };
  side(b[2], "width");
  side(b[3], "height");
  if (!std::isfinite(b[0]) || !std::isfinite(b[1])) problems.push_back("a non-finite position");
  if (problems.empty()) return true;
  std::string msg = "bbox " + box_text(b) + " has ";
  for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? " and " : "") + problems[i];
  ctx.add("bbox_degenerate", Severity::Error, ann, msg);
  return false;
}

// Returns true when the box stays within the image (plus tolerance) or the image size is unknown.
bool check_box_bounds(Context& ctx, const Annotation& ann) {
  auto it = ctx.image_pos.find(ann.image_id);
  if (it == ctx.image_pos.end()) return true;
  const ImageSize size = ctx.image_size[it->second];
  if (size.width <= 0 || size.height <= 0) return true;
  const auto& b = ann.bbox;
  const double tol = ctx.options.bbox_tolerance;
  std::vector<std::string> parts;
  auto past = [&](double excess, const char* edge) {
    if (excess > tol) parts.push_back(num(excess) + " px past the " + edge + " edge");
  };
  past(-b[0], "left");
  past(-b[1], "top");
  past(b[0] + b[2] - size.width, "right");
  past(b[1] + b[3] - size.height, "bottom");
  if (parts.empty()) return true;
  std::string msg = "bbox " + box_text(b) + " extends ";
  for (std::size_t i = 0; i < parts.size(); ++i) msg += (i ? " and " : "") + parts[i];
  msg += " of a " + size_text(size.width, size.height) + " image";
  ctx.add("bbox_out_of_bounds", Severity::Error, ann, msg);
  return false;
}

// Returns true when every polygon has at least 3 finite points.
bool check_polygons(Context& ctx, const Annotation& ann) {
  std::vector<std::string> problems;
  const std::size_t count = ann.polygons.size();
  for (std::size_t p = 0; p < count; ++p) {
    const auto& xy = ann.polygons[p];
    const std::string name = "polygon " + std::to_string(p + 1) + (count > 1 ? " of " + std::to_string(count) : "");
    if (xy.size() % 2 != 0) {
      problems.push_back(name + " has " + std::to_string(xy.size()) + " coordinates, an odd count (x,y pairs expected)");
    } else if (xy.size() < 6) {
      problems.push_back(name + " has " + std::to_string(xy.size() / 2) + " points; at least 3 are needed");
    }
    for (std::size_t k = 0; k < xy.size(); ++k) {
      if (!std::isfinite(xy[k])) {
        problems.push_back(name + " has " + (std::isnan(xy[k]) ? "a NaN" : "an infinite value") +
                           " at coordinate " + std::to_string(k));
        break;
      }
    }
  }
  if (problems.empty()) return true;
  std::string msg;
  for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
  ctx.add("bad_polygon", Severity::Error, ann, msg);
  return false;
}

// Compares the box with the extent of the mask (polygons' min/max, else the RLE's tight box).
void check_mask_extent(Context& ctx, const Annotation& ann) {
  std::array<double, 4> extent{0, 0, 0, 0};
  std::string what;
  if (!ann.polygons.empty()) {
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (const auto& xy : ann.polygons) {
      for (std::size_t k = 0; k + 1 < xy.size(); k += 2) {
        x0 = std::min(x0, xy[k]);
        x1 = std::max(x1, xy[k]);
        y0 = std::min(y0, xy[k + 1]);
        y1 = std::max(y1, xy[k + 1]);
      }
    }
    extent = {x0, y0, x1 - x0, y1 - y0};
    what = "polygon extent";
  } else if (ann.rle) {
    // Readers reject RLEs whose runs don't cover h*w; one built in code might not, and its
    // box would be meaningless, so such a mask is left alone.
    std::uint64_t sum = 0;
    for (auto c : ann.rle->counts) sum += c;
    if (sum != std::uint64_t(ann.rle->h) * ann.rle->w) return;
    extent = rle_bbox(*ann.rle);
    what = "RLE mask extent";
    if (extent[2] <= 0 || extent[3] <= 0) {
      ctx.add("mask_bbox_mismatch", Severity::Error, ann,
              "RLE mask is empty but the bbox is " + box_text(ann.bbox));
      return;
    }
  } else {
    return;
  }
  // A polygon that is a line (zero width or height) has no area; give it a hair of thickness so
  // that a thin but correctly placed mask still overlaps its box.
  extent[2] = std::max(extent[2], 1e-6);
  extent[3] = std::max(extent[3], 1e-6);
  const double iou = box_iou(ann.bbox, extent);
  if (iou < ctx.options.mask_bbox_min_iou) {
    ctx.add("mask_bbox_mismatch", Severity::Error, ann,
            "bbox " + box_text(ann.bbox) + " and the " + what + " " + box_text(extent) +
                " overlap with IoU " + num(iou) + " (below " + num(ctx.options.mask_bbox_min_iou) + ")");
  }
}

void check_annotations(Context& ctx, const Progress& progress) {
  const Dataset& ds = ctx.dataset;
  const std::size_t total = ds.annotations.size();
  ctx.box_usable.assign(total, false);
  ctx.annotation_count.assign(ds.images.size(), 0);
  std::unordered_map<std::int64_t, std::int64_t> first_image_of_id;  // annotation id -> its first image
  first_image_of_id.reserve(total);
  progress(0, total, "checking annotations");
  for (std::size_t i = 0; i < total; ++i) {
    if (i % kCancelStride == 0) progress.check_cancel();
    const Annotation& ann = ds.annotations[i];
    auto [first, inserted] = first_image_of_id.emplace(ann.id, ann.image_id);
    if (!inserted) {
      ctx.add("duplicate_annotation_id", Severity::Error, ann,
              "annotation id " + std::to_string(ann.id) + " is used again (first on image " +
                  std::to_string(first->second) + ", again on image " + std::to_string(ann.image_id) + ")");
    }
    auto img = ctx.image_pos.find(ann.image_id);
    if (img == ctx.image_pos.end()) {
      ctx.add("unknown_image", Severity::Error, ann,
              "annotation " + std::to_string(ann.id) + " points at image id " + std::to_string(ann.image_id) +
                  ", which is not in the dataset");
    } else {
      ++ctx.annotation_count[img->second];
    }
    if (ctx.category_pos.find(ann.category_id) == ctx.category_pos.end()) {
      ctx.add("unknown_category", Severity::Error, ann,
              "annotation " + std::to_string(ann.id) + " has category id " + std::to_string(ann.category_id) +
                  ", which is not among the " + std::to_string(ds.categories.size()) + " categories");
    }
    const bool box_ok = check_box_shape(ctx, ann) && check_box_bounds(ctx, ann);
    ctx.box_usable[i] = box_ok;
    const bool polygons_ok = check_polygons(ctx, ann);
    // The extent comparison means nothing when the box or the polygons are already broken.
    if (box_ok && polygons_ok) check_mask_extent(ctx, ann);
  }
  progress(total, total, "checking annotations");
}

void check_empty_images(Context& ctx) {
  const Dataset& ds = ctx.dataset;
  if (ds.annotation_list_missing) {
    const std::string file = ds.source.rfind("coco:", 0) == 0 ? ds.source.substr(5) : ds.source;
    ctx.add("no_annotation_list", Severity::Warning, std::nullopt, std::nullopt, file,
            "the file has no \"annotations\" list (a test-set image list?): none of its " +
                std::to_string(ds.images.size()) +
                " images has annotations, so it can be inferred on but not trained on or evaluated against",
            "");
    return;
  }
  for (std::size_t i = 0; i < ds.images.size(); ++i) {
    // A repeated id's second entry already has its error; its annotations count for the first.
    if (ctx.image_pos[ds.images[i].id] != i || ctx.annotation_count[i] != 0) continue;
    ctx.add("no_annotations", Severity::Warning, ds.images[i].id, std::nullopt, ds.image_path(ds.images[i]),
            "image has no annotations", Context::source_text(ds.images[i], 0));
  }
}

// Same image, same class, nearly the same box: usually one object annotated twice. Crowd regions
// are left out because they legitimately cover the instances inside them.
void check_duplicate_annotations(Context& ctx) {
  const Dataset& ds = ctx.dataset;
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < ds.annotations.size(); ++i) {
    const Annotation& ann = ds.annotations[i];
    if (ctx.box_usable[i] && !ann.iscrowd) groups[{ann.image_id, ann.category_id}].push_back(i);
  }
  for (const auto& [key, members] : groups) {
    for (std::size_t b = 1; b < members.size(); ++b) {
      const Annotation& later = ds.annotations[members[b]];
      for (std::size_t a = 0; a < b; ++a) {
        const Annotation& earlier = ds.annotations[members[a]];
        const double iou = box_iou(earlier.bbox, later.bbox);
        if (iou <= ctx.options.duplicate_iou) continue;
        // Reported once, on the later annotation, naming the first one it repeats.
        ctx.add("duplicate_annotation", Severity::Error, later,
                "same class " + ctx.class_name(key.second) + " and nearly the same box as annotation " +
                    std::to_string(earlier.id) + " (bbox " + box_text(later.bbox) + " vs " +
                    box_text(earlier.bbox) + ", IoU " + num(iou) + " above " +
                    num(ctx.options.duplicate_iou) + ")");
        break;
      }
    }
  }
}

void check_class_balance(Context& ctx) {
  const Dataset& ds = ctx.dataset;
  if (ds.categories.size() < 2) return;
  std::vector<std::size_t> counts(ds.categories.size(), 0);
  for (const Annotation& ann : ds.annotations) {
    auto it = ctx.category_pos.find(ann.category_id);
    if (it != ctx.category_pos.end()) ++counts[it->second];
  }
  std::vector<std::size_t> order;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    if (ctx.category_pos[ds.categories[c].id] == c) order.push_back(c);  // skip repeated category ids
  }
  if (order.size() < 2) return;
  const std::size_t top = *std::max_element(order.begin(), order.end(),
                                            [&](std::size_t a, std::size_t b) { return counts[a] < counts[b]; });
  if (counts[top] == 0) return;
  const double limit = ctx.options.imbalance_ratio;
  // Every class the most frequent one outnumbers by more than the limit, rarest first.
  std::vector<std::size_t> rare;
  for (std::size_t c : order) {
    if (static_cast<double>(counts[top]) > limit * static_cast<double>(counts[c])) rare.push_back(c);
  }
  if (rare.empty()) return;
  std::stable_sort(rare.begin(), rare.end(), [&](std::size_t a, std::size_t b) { return counts[a] < counts[b]; });
  auto name = [&](std::size_t c) { return ctx.class_name(ds.categories[c].id); };
  const std::size_t least = counts[rare.front()];
  std::string msg = "class imbalance ";
  msg += least == 0 ? std::string("(a class has no annotations)")
                    : num(static_cast<double>(counts[top]) / static_cast<double>(least)) + ":1";
  msg += " above the limit " + num(limit) + ":1: the most frequent class " + name(top) + " has " +
         std::to_string(counts[top]) + " annotations, while ";
  for (std::size_t i = 0; i < rare.size(); ++i)
    msg += (i ? ", " : "") + name(rare[i]) + " has " + std::to_string(counts[rare[i]]);
  ctx.add("class_imbalance", Severity::Warning, std::nullopt, std::nullopt, ds.source, msg);
}

// A box far from its class's usual size: |log sqrt(area) - mean| > k * std, where mean and std
// are those of the class's other boxes. Leaving the box out matters: with the box included,
// a single outlier among n samples can never be more than (n-1)/sqrt(n) stds from the mean.
void check_box_sizes(Context& ctx) {
  const Dataset& ds = ctx.dataset;
  struct Sample {
    std::size_t annotation;
    double log_size;
  };
  std::map<std::int64_t, std::vector<Sample>> by_class;
  for (std::size_t i = 0; i < ds.annotations.size(); ++i) {
    const Annotation& ann = ds.annotations[i];
    // Crowd regions group many objects, so their size says nothing about one object's.
    if (!ctx.box_usable[i] || ann.iscrowd || ctx.category_pos.count(ann.category_id) == 0) continue;
    by_class[ann.category_id].push_back({i, 0.5 * std::log(ann.bbox[2] * ann.bbox[3])});
  }
  const double k = ctx.options.size_outlier_log_sigma;
  for (const auto& [category_id, samples] : by_class) {
    const std::size_t n = samples.size();
    if (n < kMinSizeSamples) continue;
    // Sums of deviations from the class mean keep the leave-one-out variance well conditioned.
    double centre = 0;
    for (const auto& s : samples) centre += s.log_size;
    centre /= static_cast<double>(n);
    double s1 = 0, s2 = 0;
    for (const auto& s : samples) {
      const double d = s.log_size - centre;
      s1 += d;
      s2 += d * d;
    }
    const double others = static_cast<double>(n - 1);
    for (const auto& s : samples) {
      const double d = s.log_size - centre;
      const double mean_d = (s1 - d) / others;
      const double var = std::max(0.0, (s2 - d * d) / others - mean_d * mean_d);
      const double std_dev = std::max(std::sqrt(var), kMinLogSizeStd);
      const double mean = centre + mean_d;
      const double distance = std::fabs(s.log_size - mean) / std_dev;
      if (distance <= k) continue;
      const Annotation& ann = ds.annotations[s.annotation];
      const bool large = s.log_size > mean;
      ctx.add("unusual_box_size", Severity::Warning, ann,
              "box " + num(ann.bbox[2]) + "x" + num(ann.bbox[3]) + " (sqrt area " +
                  num(std::exp(s.log_size)) + " px) is unusually " + (large ? "large" : "small") +
                  " for class " + ctx.class_name(category_id) + ": its other " + std::to_string(n - 1) +
                  " boxes have a mean size of " + num(std::exp(mean)) + " px (geometric), and this one is " +
                  num(distance) + " std away in log size (limit " + num(k) + ")");
    }
  }
}

}  // namespace

const char* severity_name(Severity s) { return s == Severity::Error ? "error" : "warning"; }

CheckReport check_dataset(const Dataset& dataset, const CheckOptions& options, const Progress& progress) {
  progress.check_cancel();
  std::vector<DecodedImage> decoded;
  if (options.decode_images) {
    int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
    decoded = decode_images(dataset, std::max(threads, 1), progress);
  }

  Context ctx(dataset, options);
  check_images(ctx, decoded);
  check_annotations(ctx, progress);
  check_empty_images(ctx);
  check_duplicate_annotations(ctx);
  check_class_balance(ctx);
  check_box_sizes(ctx);
  progress.check_cancel();

  CheckReport report;
  report.findings = std::move(ctx.findings);
  // Dataset-wide findings (no image) first, then by image, annotation and code; the message
  // breaks the remaining ties so that equal inputs always give equal reports.
  std::sort(report.findings.begin(), report.findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.image_id, a.annotation_id, a.code, a.message) <
           std::tie(b.image_id, b.annotation_id, b.code, b.message);
  });
  for (const Finding& f : report.findings) (f.severity == Severity::Error ? report.errors : report.warnings)++;
  report.images_checked = dataset.images.size();
  return report;
}

std::string findings_to_json(const std::vector<Finding>& findings) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto string = [&](const std::string& s) { w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartArray();
  for (const Finding& f : findings) {
    w.StartObject();
    w.Key("code");
    string(f.code);
    w.Key("severity");
    w.String(severity_name(f.severity));
    if (f.image_id) {
      w.Key("image_id");
      w.Int64(*f.image_id);
    }
    if (f.annotation_id) {
      w.Key("annotation_id");
      w.Int64(*f.annotation_id);
    }
    w.Key("file");
    string(f.file);
    w.Key("message");
    string(f.message);
    if (!f.source.empty()) {
      w.Key("source");
      string(f.source);
    }
    w.EndObject();
  }
  w.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace studio
