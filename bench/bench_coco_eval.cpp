// COCO evaluation speed at val2017 scale, on a synthetic case built in memory.
//
//   bench_coco_eval [--images 5000] [--objects 7] [--repeat 3] [--seed 1] [--write DIR]
//       images of 640x480, 80 categories, about `objects` gt per image (polygon masks of 12
//       points, 1 in 100 iscrowd), and per image 60..100 detections: noisy copies of the gt
//       (jittered polygons, rasterised to RLE) plus false positives, scores uniform in (0, 1).
//       Prints the median evaluate+accumulate+summarize time of `repeat` runs for bbox and segm,
//       on 1 thread and on all cores, and the 12 numbers. --write DIR writes DIR/gt.json,
//       DIR/bbox_results.json and DIR/segm_results.json so a reference tool can run on the same
//       input (pycocotools: COCO(gt).loadRes(results), COCOeval(gt, dt, type)).
//   bench_coco_eval --files DIR [--repeat 3] [--pycocotools PYTHONPATH]
//       times the whole evaluation from those files, as `studio-cli eval` does it: reading the
//       ground truth and the results, evaluate + accumulate + summarize, for bbox and segm (median
//       of `repeat`, each phase too), and the same with pycocotools in the same run (its
//       COCO(gt), loadRes, evaluate, accumulate, summarize) when given, printing the ratio and
//       the largest difference of the 12 numbers.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "bench_support.h"
#include "data/coco_io.h"
#include "data/rle.h"
#include "eval/coco_eval.h"
#include "eval/coco_results.h"

namespace {

constexpr int kW = 640, kH = 480, kCats = 80;

// A 12-point star-ish polygon around (cx, cy) with radii in [0.6 r, r].
std::vector<double> blob(std::mt19937& rng, double cx, double cy, double rx, double ry) {
  std::uniform_real_distribution<double> jit(0.6, 1.0);
  std::vector<double> xy;
  for (int j = 0; j < 12; ++j) {
    const double a = 2 * M_PI * j / 12, s = jit(rng);
    xy.push_back(std::clamp(cx + std::cos(a) * rx * s, 0.0, double(kW)));
    xy.push_back(std::clamp(cy + std::sin(a) * ry * s, 0.0, double(kH)));
  }
  return xy;
}

std::array<double, 4> poly_box(const std::vector<double>& xy) {
  double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
  for (std::size_t j = 0; j + 1 < xy.size(); j += 2) {
    x0 = std::min(x0, xy[j]), x1 = std::max(x1, xy[j]);
    y0 = std::min(y0, xy[j + 1]), y1 = std::max(y1, xy[j + 1]);
  }
  return {x0, y0, x1 - x0, y1 - y0};
}

struct Case {
  studio::Dataset gt;
  std::vector<studio::Detection> dt;
};

Case make_case(int images, double objects, unsigned seed) {
  Case c;
  for (int k = 1; k <= kCats; ++k) c.gt.categories.push_back({k, "class" + std::to_string(k), "thing"});
  for (int i = 1; i <= images; ++i) c.gt.images.push_back({i, std::to_string(i) + ".jpg", kW, kH});
  std::mt19937 rng(seed);
  std::poisson_distribution<int> count(objects);
  std::uniform_real_distribution<double> u01(0, 1);
  std::int64_t ann_id = 1;
  // Detections per image are generated on worker threads (rasterising dominates), one rng each.
  std::vector<std::vector<studio::Detection>> per_image(static_cast<std::size_t>(images));
  for (int i = 1; i <= images; ++i) {
    const int n = std::min(count(rng), 50);
    for (int j = 0; j < n; ++j) {
      // Sizes spread over small / medium / large like COCO (about 40/35/25 %).
      const double r = std::exp(std::uniform_real_distribution<double>(std::log(4.0), std::log(160.0))(rng));
      studio::Annotation a;
      a.id = ann_id++;
      a.image_id = i;
      a.category_id = 1 + static_cast<int>(u01(rng) * kCats) % kCats;
      a.polygons = {blob(rng, u01(rng) * kW, u01(rng) * kH, r, r * (0.5 + u01(rng)))};
      a.iscrowd = u01(rng) < 0.01;
      const studio::Rle m = studio::rle_from_polygons(a.polygons, kH, kW);
      a.area = static_cast<double>(studio::rle_area(m));
      a.bbox = poly_box(a.polygons[0]);
      if (a.area > 0) c.gt.annotations.push_back(std::move(a));
    }
  }
  c.gt.index();
  const unsigned nt = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < nt; ++t)
    pool.emplace_back([&, t] {
      for (int i = 1 + static_cast<int>(t); i <= images; i += static_cast<int>(nt)) {
        std::mt19937 r(seed * 7919u + static_cast<unsigned>(i));
        std::uniform_real_distribution<double> v01(0, 1);
        auto& out = per_image[static_cast<std::size_t>(i - 1)];
        auto add = [&](std::int64_t cat, const std::vector<double>& poly) {
          studio::Detection d;
          d.image_id = i;
          d.category_id = cat;
          d.segm = studio::rle_from_polygons({poly}, kH, kW);
          d.bbox = studio::rle_bbox(*d.segm);
          d.area = static_cast<double>(studio::rle_area(*d.segm));
          d.score = v01(r);
          out.push_back(std::move(d));
        };
        for (std::size_t g : c.gt.annotations_of(i)) {
          const auto& a = c.gt.annotations[g];
          const auto b = a.bbox;
          const int copies = 1 + static_cast<int>(v01(r) * 4);
          for (int j = 0; j < copies && out.size() < 100; ++j) {
            const double s = 0.08 * std::max(b[2], b[3]);
            add(v01(r) < 0.9 ? a.category_id : 1 + static_cast<int>(v01(r) * kCats) % kCats,
                blob(r, b[0] + b[2] / 2 + (v01(r) - .5) * s, b[1] + b[3] / 2 + (v01(r) - .5) * s,
                     b[2] / 2 * (0.95 + 0.15 * v01(r)), b[3] / 2 * (0.95 + 0.15 * v01(r))));
          }
        }
        // False positives fill the image up to 60..100 detections, as a detector's top-100 output.
        const std::size_t fill = 60 + static_cast<std::size_t>(v01(r) * 41);
        while (out.size() < std::min<std::size_t>(fill, 100)) {
          const double rad = 4 + v01(r) * 80;
          add(1 + static_cast<int>(v01(r) * kCats) % kCats, blob(r, v01(r) * kW, v01(r) * kH, rad, rad));
        }
      }
    });
  for (auto& th : pool) th.join();
  for (auto& v : per_image)
    for (auto& d : v) c.dt.push_back(std::move(d));
  return c;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int time_files(const std::string& dir, int repeat, const std::string& pycocotools_given) {
  using studio::bench::median;
  const std::string pycocotools = studio::bench::pycocotools_path(pycocotools_given);
  const std::string gt_path = dir + "/gt.json";
  for (auto type : {studio::IouType::Bbox, studio::IouType::Segm}) {
    const std::string name = studio::iou_type_name(type);
    const std::string dt_path = dir + "/" + name + "_results.json";
    const int all = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    studio::CocoEvalResult result;
    double studio_s = 0;
    for (int threads : {1, all}) {
      std::vector<double> total, read_gt, read_dt, evaluate;
      studio::ReadOptions options;
      options.threads = threads;
      for (int r = 0; r < repeat; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        studio::Dataset gt = studio::read_coco(gt_path, "", {}, options);
        read_gt.push_back(seconds_since(t0));
        auto t1 = std::chrono::steady_clock::now();
        const auto dt = studio::read_coco_results(dt_path, gt, type, options);
        read_dt.push_back(seconds_since(t1));
        t1 = std::chrono::steady_clock::now();
        result = studio::evaluate_coco(gt, dt, type, {}, {}, threads);
        const std::string summary = studio::format_summary(result);
        evaluate.push_back(seconds_since(t1));
        total.push_back(seconds_since(t0));
      }
      studio_s = median(total);
      std::printf("%s studio, %d thread%s: %.3f s (median of %d; reading gt %.3f, results %.3f, evaluating %.3f)\n",
                  name.c_str(), threads, threads == 1 ? "" : "s", studio_s, repeat, median(read_gt), median(read_dt),
                  median(evaluate));
      if (all == 1) break;
    }
    if (pycocotools.empty()) continue;
    const auto ref = studio::bench::run_pycocotools(
        pycocotools, "eval " + gt_path + " " + dt_path + " --iou " + name + " --repeat " + std::to_string(repeat),
        "/tmp/bench_coco_eval_pycocotools_" + name + ".log");
    double worst = 0;
    for (int k = 0; k < 12; ++k) {
      const auto it = ref.find("stat" + std::to_string(k));
      worst = std::max(worst, it == ref.end() ? 1.0 : std::abs(it->second - result.stats[static_cast<std::size_t>(k)]));
    }
    std::printf("%s pycocotools: %.3f s, peak %.0f MiB; studio %.1fx faster; largest difference of the 12 numbers %.3g\n",
                name.c_str(), ref.at("eval_s"), ref.at("peak_mib"), ref.at("eval_s") / studio_s, worst);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int images = 5000, repeat = 3;
  double objects = 7;
  unsigned seed = 1;
  std::string write_dir, files_dir, pycocotools;
  CLI::App app{"bench_coco_eval: COCO bbox and segm evaluation speed on a generated case"};
  app.add_option("--images", images, "images in the case")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--objects", objects, "mean objects an image")->capture_default_str();
  app.add_option("--repeat", repeat, "timed runs")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--write", write_dir, "also write gt.json and the results there");
  app.add_option("--files", files_dir, "time evaluating from the files --write wrote there (and pycocotools)");
  app.add_option("--pycocotools", pycocotools, "PYTHONPATH of a pycocotools build (bench/build_pycocotools.sh)");
  CLI11_PARSE(app, argc, argv);
  try {
    if (!files_dir.empty()) return time_files(files_dir, repeat, pycocotools);
    auto t0 = std::chrono::steady_clock::now();
    Case c = make_case(images, objects, seed);
    std::printf("case: %d images, %zu gt, %zu detections, built in %.1f s\n", images, c.gt.annotations.size(),
                c.dt.size(), seconds_since(t0));
    if (!write_dir.empty()) {
      studio::write_coco(c.gt, write_dir + "/gt.json");
      std::vector<studio::Detection> boxes = c.dt;
      for (auto& d : boxes) {
        d.segm.reset();
        d.area = d.bbox[2] * d.bbox[3];
      }
      std::ofstream(write_dir + "/bbox_results.json") << studio::to_coco_results_json(boxes);
      std::ofstream(write_dir + "/segm_results.json") << studio::to_coco_results_json(c.dt);
      std::printf("wrote %s/{gt,bbox_results,segm_results}.json\n", write_dir.c_str());
    }
    const int all = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (auto type : {studio::IouType::Bbox, studio::IouType::Segm}) {
      // bbox results carry the box area, as loadRes gives them.
      std::vector<studio::Detection> dt = c.dt;
      if (type == studio::IouType::Bbox)
        for (auto& d : dt) d.area = d.bbox[2] * d.bbox[3];
      studio::CocoEvalResult last;
      for (int threads : {1, all}) {
        std::vector<double> times;
        for (int r = 0; r < repeat; ++r) {
          t0 = std::chrono::steady_clock::now();
          last = studio::evaluate_coco(c.gt, dt, type, {}, {}, threads);
          times.push_back(seconds_since(t0));
        }
        std::sort(times.begin(), times.end());
        std::printf("%s  threads %2d: median %.3f s (min %.3f, max %.3f, %d runs)\n",
                    studio::iou_type_name(type), threads, times[times.size() / 2], times.front(),
                    times.back(), repeat);
        if (all == 1) break;
      }
      std::printf("%s", studio::format_summary(last).c_str());
      // Full precision, for comparing with a reference tool run on the --write files.
      std::printf("%s stats:", studio::iou_type_name(type));
      for (double v : last.stats) std::printf(" %.17g", v);
      std::printf("\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_coco_eval: %s\n", e.what());
    return 1;
  }
  return 0;
}
