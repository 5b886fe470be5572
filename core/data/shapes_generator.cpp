#include "data/shapes_generator.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "data/coco_io.h"
#include "data/dataset_writers.h"
#include "data/image_io.h"

namespace studio {

namespace fs = std::filesystem;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Our own uniform draws from the 64-bit engine: std's distributions differ between standard
// libraries, and the generated set must be the same everywhere for a given seed.
struct Rng {
  std::mt19937_64 engine;
  explicit Rng(std::uint64_t seed) : engine(seed) {}
  double uniform(double lo, double hi) { return lo + (hi - lo) * double(engine() >> 11) * 0x1.0p-53; }
  int integer(int lo, int hi) { return lo + int(engine() % std::uint64_t(hi - lo + 1)); }  // inclusive
};

enum Shape { kCircle, kSquare, kTriangle, kStar, kHexagon, kShapeCount };

// Outline of one shape centred at (cx, cy) with outer radius r, rotated by `angle` radians.
std::vector<cv::Point> shape_outline(int shape, double cx, double cy, double r, double angle) {
  std::vector<cv::Point> pts;
  auto add = [&](double radius, double a) {
    pts.emplace_back(int(std::lround(cx + radius * std::cos(a + angle))),
                     int(std::lround(cy + radius * std::sin(a + angle))));
  };
  switch (shape) {
    case kCircle:
      for (int i = 0; i < 48; ++i) add(r, 2 * kPi * i / 48);
      break;
    case kSquare:
      for (int i = 0; i < 4; ++i) add(r, kPi / 4 + kPi / 2 * i);
      break;
    case kTriangle:
      for (int i = 0; i < 3; ++i) add(r, -kPi / 2 + 2 * kPi / 3 * i);
      break;
    case kStar:
      for (int i = 0; i < 10; ++i) add(i % 2 ? r * 0.45 : r, -kPi / 2 + kPi / 5 * i);
      break;
    default:
      for (int i = 0; i < 6; ++i) add(r, kPi / 3 * i);
      break;
  }
  return pts;
}

// A soft two-colour gradient with mild noise, so the images are not flat and JPEG-friendly.
cv::Mat background(Rng& rng, int size) {
  cv::Mat img(size, size, CV_8UC3);
  const cv::Vec3d a(rng.uniform(40, 215), rng.uniform(40, 215), rng.uniform(40, 215));
  const cv::Vec3d b(rng.uniform(40, 215), rng.uniform(40, 215), rng.uniform(40, 215));
  const double dir = rng.uniform(0, 2 * kPi);
  const double dx = std::cos(dir), dy = std::sin(dir);
  for (int y = 0; y < size; ++y) {
    auto* row = img.ptr<cv::Vec3b>(y);
    for (int x = 0; x < size; ++x) {
      const double t = std::clamp(0.5 + ((x - size / 2.0) * dx + (y - size / 2.0) * dy) / size, 0.0, 1.0);
      const double noise = rng.uniform(-8, 8);
      for (int c = 0; c < 3; ++c)
        row[x][c] = cv::saturate_cast<std::uint8_t>(a[c] * (1 - t) + b[c] * t + noise);
    }
  }
  return img;
}

// A colour far enough from the background's local colour to be seen.
cv::Vec3b object_colour(Rng& rng, const cv::Vec3b& under) {
  for (int attempt = 0;; ++attempt) {
    cv::Vec3b c(std::uint8_t(rng.integer(0, 255)), std::uint8_t(rng.integer(0, 255)),
                std::uint8_t(rng.integer(0, 255)));
    const double d = std::abs(c[0] - under[0]) + std::abs(c[1] - under[1]) + std::abs(c[2] - under[2]);
    if (d > 180 || attempt > 20) return c;
  }
}

}  // namespace

const std::vector<std::string>& shapes_class_names() {
  static const std::vector<std::string> kNames = {"circle", "square", "triangle", "star", "hexagon"};
  return kNames;
}

Dataset generate_shapes(const ShapesOptions& options, const Progress& progress) {
  if (options.images < 1) throw Error("shapes generator: --images must be at least 1");
  if (options.size < 32 || options.size > 4096)
    throw Error("shapes generator: --size must be between 32 and 4096 pixels");
  if (options.min_objects < 0 || options.max_objects < std::max(1, options.min_objects))
    throw Error("shapes generator: object counts must satisfy 0 <= min <= max, max >= 1");
  const fs::path out(options.out_dir);
  if (options.format != ShapesFormat::Coco &&
      (options.split.empty() || options.split.find_first_of("/\\") != std::string::npos))
    throw Error("shapes generator: --split must be a plain file stem (e.g. trainval), got '" + options.split + "'");
  const fs::path image_dir = out / (options.format == ShapesFormat::Voc ? "JPEGImages" : "images");
  std::error_code ec;
  fs::create_directories(image_dir, ec);
  if (ec) throw Error(options.out_dir + ": cannot create folder (" + ec.message() + ")");

  Dataset ds;
  ds.format = DatasetFormat::Synthetic;
  ds.image_root = image_dir.string();
  ds.source = "synth:" + options.out_dir;
  for (std::size_t i = 0; i < shapes_class_names().size(); ++i)
    ds.categories.push_back({std::int64_t(i + 1), shapes_class_names()[i], "shape"});

  Rng rng(options.seed);
  const int size = options.size;
  std::int64_t next_ann = 1;
  for (int index = 0; index < options.images; ++index) {
    progress.check_cancel();
    cv::Mat img = background(rng, size);
    cv::Mat labels(size, size, CV_16U, cv::Scalar(0));  // 0 = background, k = object k (1-based)
    const int count = rng.integer(options.min_objects, options.max_objects);
    std::vector<int> classes;
    for (int k = 1; k <= count; ++k) {
      const int shape = rng.integer(0, kShapeCount - 1);
      const double r = rng.uniform(size / 14.0, size / 4.5);
      const double cx = rng.uniform(r * 0.6, size - r * 0.6);
      const double cy = rng.uniform(r * 0.6, size - r * 0.6);
      const auto outline = shape_outline(shape, cx, cy, r, rng.uniform(0, 2 * kPi));
      const cv::Point centre(std::clamp(int(cx), 0, size - 1), std::clamp(int(cy), 0, size - 1));
      const cv::Vec3b colour = object_colour(rng, img.at<cv::Vec3b>(centre));
      const std::vector<std::vector<cv::Point>> polys{outline};
      cv::fillPoly(img, polys, cv::Scalar(colour[0], colour[1], colour[2]), cv::LINE_8);
      cv::fillPoly(labels, polys, cv::Scalar(k), cv::LINE_8);
      classes.push_back(shape);
    }

    ImageInfo info;
    info.id = index + 1;
    char name[32];
    std::snprintf(name, sizeof name, "%06d.jpg", index + 1);
    info.file_name = name;
    info.width = size;
    info.height = size;

    // Each object's annotation is its visible part: later shapes occlude earlier ones.
    for (int k = 1; k <= count; ++k) {
      cv::Mat mask = labels == k;
      const int area = cv::countNonZero(mask);
      if (area < 24) continue;  // hidden almost entirely: not a labelled object
      std::vector<std::vector<cv::Point>> contours;
      cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
      Annotation ann;
      // Slivers left by occlusion (thinner than the polygon form can describe) are dropped, and
      // the box and area are taken from what the kept polygons cover, so they agree.
      cv::Mat kept(mask.size(), CV_8U, cv::Scalar(0));
      for (std::size_t ci = 0; ci < contours.size(); ++ci) {
        const auto& c = contours[ci];
        if (c.size() < 3 || cv::contourArea(c) < 4) continue;
        cv::drawContours(kept, contours, int(ci), cv::Scalar(255), cv::FILLED);
        std::vector<double> xy;
        xy.reserve(c.size() * 2);
        // Contours run through boundary pixel centres, which sit at +0.5 in COCO coordinates.
        for (const auto& p : c) {
          xy.push_back(p.x + 0.5);
          xy.push_back(p.y + 0.5);
        }
        ann.polygons.push_back(std::move(xy));
      }
      if (ann.polygons.empty()) continue;
      kept &= mask;
      const cv::Rect box = cv::boundingRect(kept);
      ann.id = next_ann++;
      ann.image_id = info.id;
      ann.category_id = classes[k - 1] + 1;
      ann.bbox = {double(box.x), double(box.y), double(box.width), double(box.height)};
      ann.area = cv::countNonZero(kept);
      ds.annotations.push_back(std::move(ann));
    }

    cv::Mat rgb;
    cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
    write_rgb_image((image_dir / info.file_name).string(), rgb.data, size, size, 92);
    ds.images.push_back(std::move(info));
    progress(std::size_t(index + 1), std::size_t(options.images), "generating images");
  }
  switch (options.format) {
    case ShapesFormat::Coco: write_coco(ds, (out / "annotations.json").string()); break;
    case ShapesFormat::Voc: write_voc_folder(ds, out.string(), options.split); break;
    case ShapesFormat::Txt:
      write_txt_list(ds, (out / (options.split + ".txt")).string(), (out / "names.txt").string());
      break;
  }
  ds.index();
  return ds;
}

}  // namespace studio
