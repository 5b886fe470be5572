// COCO loading speed and memory at train2017 scale.
//
//   bench_coco_load --make FILE [--images 118000 --annotations 800000] [--seed 1]
//       writes a synthetic instances file shaped like instances_train2017.json: compact JSON,
//       images with license/coco_url/date_captured/flickr_url, 80 categories, polygons of 8-32
//       points with 2-decimal coordinates (about 1 in 10 split in two parts), and about 1 in 100
//       annotations iscrowd with uncompressed RLE counts.
//   bench_coco_load FILE [--repeat 3] [--write OUT] [--pycocotools PYTHONPATH]
//       loads it `repeat` times on 1 thread and on every core (freeing and trimming the heap in
//       between, so each load starts like a fresh process) and prints the median load times, the
//       peak resident memory (VmHWM) and the counts; with pycocotools (bench/build_pycocotools.sh)
//       also its COCO(FILE) time and peak in the same run, and the ratio. --write also times
//       writing the dataset back as COCO JSON.
#include <malloc.h>

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

#include "bench_support.h"
#include "common/error.h"
#include "data/coco_io.h"

namespace {

// Peak resident set size in MiB, from the kernel's own account of this process.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  return -1;
}

// Appends a value given in hundredths as "123.45" (or "-0.5" style never occurs: values >= 0).
void put_centi(std::string& out, long centi) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%ld.%02ld", centi / 100, centi % 100);
  out.append(buf, static_cast<std::size_t>(n));
}

void put_int(std::string& out, long v) {
  char buf[24];
  const int n = std::snprintf(buf, sizeof buf, "%ld", v);
  out.append(buf, static_cast<std::size_t>(n));
}

struct ImageSize {
  int w, h;
};

int make(const std::string& path, long n_images, long n_annotations, unsigned seed) {
  std::mt19937 rng(seed);
  const ImageSize sizes[] = {{640, 480}, {480, 640}, {640, 427}, {427, 640},
                             {500, 375}, {640, 360}, {612, 612}};
  std::vector<ImageSize> image_size(static_cast<std::size_t>(n_images));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return 1;
  }
  std::string out;
  out.reserve(1 << 22);
  auto flush = [&](bool force) {
    if (force || out.size() > (1 << 21)) {
      std::fwrite(out.data(), 1, out.size(), f);
      out.clear();
    }
  };
  out +=
      R"({"info":{"description":"synthetic COCO-like dataset","url":"http://example.org","version":"1.0","year":2017,"contributor":"bench_coco_load","date_created":"2017/09/01"},)";
  out +=
      R"("licenses":[{"url":"http://creativecommons.org/licenses/by-nc-sa/2.0/","id":1,"name":"Attribution-NonCommercial-ShareAlike License"}],)";
  out += R"("images":[)";
  std::uniform_int_distribution<int> pick_size(0, 6), license(1, 8), day(1, 28), sec(0, 59);
  for (long i = 0; i < n_images; ++i) {
    const ImageSize s = sizes[pick_size(rng)];
    image_size[static_cast<std::size_t>(i)] = s;
    char name[32];
    std::snprintf(name, sizeof name, "%012ld.jpg", i + 1);
    if (i) out += ',';
    out += R"({"license":)";
    put_int(out, license(rng));
    out += R"(,"file_name":")";
    out += name;
    out += R"(","coco_url":"http://images.cocodataset.org/train2017/)";
    out += name;
    out += R"(","height":)";
    put_int(out, s.h);
    out += R"(,"width":)";
    put_int(out, s.w);
    char date[48];
    std::snprintf(date, sizeof date, "2013-11-%02d 11:%02d:%02d", day(rng), sec(rng), sec(rng));
    out += R"(,"date_captured":")";
    out += date;
    out += R"(","flickr_url":"http://farm4.staticflickr.com/3153/)";
    put_int(out, 9000000000L + i);
    out += R"(_4e622c8349_z.jpg","id":)";
    put_int(out, i + 1);
    out += '}';
    flush(false);
  }
  out += R"(],"annotations":[)";
  std::uniform_int_distribution<long> pick_image(0, n_images - 1);
  std::uniform_int_distribution<int> points(8, 32), category(1, 80), percent(0, 99);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<long> xs, ys;
  for (long a = 0; a < n_annotations; ++a) {
    const long image = pick_image(rng);
    const ImageSize s = image_size[static_cast<std::size_t>(image)];
    // A blob: centre, radius, then points around it (in hundredths of a pixel, inside the image).
    const double cx = unit(rng) * s.w, cy = unit(rng) * s.h, r = 5 + unit(rng) * std::min(s.w, s.h) / 4;
    const bool crowd = percent(rng) == 0;
    const int parts = percent(rng) < 10 ? 2 : 1;
    long x0 = 1L << 40, y0 = 1L << 40, x1 = 0, y1 = 0;
    if (a) out += ',';
    out += R"({"segmentation":)";
    if (!crowd) {
      out += '[';
      for (int p = 0; p < parts; ++p) {
        const int k = points(rng) / parts + 3;
        const double pcx = cx + (p ? r : 0), pcy = cy;
        if (p) out += ',';
        out += '[';
        for (int i = 0; i < k; ++i) {
          const double angle = 6.283185307179586 * (i + 0.5 * unit(rng)) / k,
                       rr = r * (0.5 + 0.5 * unit(rng));
          const long x = std::clamp(static_cast<long>((pcx + rr * std::cos(angle)) * 100), 0L, s.w * 100L);
          const long y = std::clamp(static_cast<long>((pcy + rr * std::sin(angle)) * 100), 0L, s.h * 100L);
          x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
          if (i) out += ',';
          put_centi(out, x);
          out += ',';
          put_centi(out, y);
        }
        out += ']';
      }
      out += ']';
    } else {
      // A crowd region: a rectangle as uncompressed column-major runs, as COCO writes them.
      const long bx0 = std::clamp(static_cast<long>(cx - r), 0L, static_cast<long>(s.w - 1));
      const long bx1 = std::clamp(static_cast<long>(cx + r), bx0 + 1, static_cast<long>(s.w));
      const long by0 = std::clamp(static_cast<long>(cy - r), 0L, static_cast<long>(s.h - 1));
      const long by1 = std::clamp(static_cast<long>(cy + r), by0 + 1, static_cast<long>(s.h));
      x0 = bx0 * 100, x1 = bx1 * 100, y0 = by0 * 100, y1 = by1 * 100;
      out += R"({"counts":[)";
      put_int(out, bx0 * s.h + by0);
      for (long x = bx0; x < bx1; ++x) {
        out += ',';
        put_int(out, by1 - by0);
        out += ',';
        put_int(out, x + 1 < bx1 ? s.h - (by1 - by0) : (s.w - bx1) * s.h + (s.h - by1));
      }
      out += R"(],"size":[)";
      put_int(out, s.h);
      out += ',';
      put_int(out, s.w);
      out += "]}";
    }
    out += R"(,"area":)";
    char area[32];
    std::snprintf(area, sizeof area, "%.4f", (x1 - x0) * (y1 - y0) / 1e4 * 0.7);
    out += area;
    out += R"(,"iscrowd":)";
    out += crowd ? '1' : '0';
    out += R"(,"image_id":)";
    put_int(out, image + 1);
    out += R"(,"bbox":[)";
    put_centi(out, x0);
    out += ',';
    put_centi(out, y0);
    out += ',';
    put_centi(out, x1 - x0);
    out += ',';
    put_centi(out, y1 - y0);
    out += R"(],"category_id":)";
    put_int(out, category(rng));
    out += R"(,"id":)";
    put_int(out, 900000 + a);
    out += '}';
    flush(false);
  }
  out += R"(],"categories":[)";
  for (int c = 1; c <= 80; ++c) {
    if (c > 1) out += ',';
    out += R"({"supercategory":"super)";
    put_int(out, (c - 1) / 8);
    out += R"(","id":)";
    put_int(out, c);
    out += R"(,"name":"class)";
    put_int(out, c);
    out += "\"}";
  }
  out += "]}";
  flush(true);
  const long bytes = std::ftell(f);
  std::fclose(f);
  std::printf("wrote %s: %ld images, %ld annotations, 80 categories, %.1f MB\n", path.c_str(), n_images,
              n_annotations, bytes / 1e6);
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Median seconds of `repeat` loads on `threads` threads (0: every core); `ds` keeps the last.
double time_loads(const std::string& path, int repeat, int threads, studio::Dataset& ds, bool& pieces) {
  std::vector<double> times;
  for (int r = 0; r < repeat; ++r) {
    // Free the previous copy and give its pages back to the kernel, so that every repeat starts
    // like a fresh process (same page faults) and the peak stays one load's.
    ds = studio::Dataset{};
    malloc_trim(0);
    studio::ReadOptions options;
    options.threads = threads;
    options.read_in_pieces = &pieces;
    const auto t0 = std::chrono::steady_clock::now();
    ds = studio::read_coco(path, "", {}, options);
    times.push_back(seconds_since(t0));
    std::printf("load %d (%d thread%s): %.3f s\n", r + 1, threads, threads == 1 ? "" : "s", times.back());
  }
  return studio::bench::median(times);
}

int load(const std::string& path, int repeat, const std::string& write_path, const std::string& pycocotools_given) {
  const std::string pycocotools = studio::bench::pycocotools_path(pycocotools_given);
  const int all = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  studio::Dataset ds;
  bool pieces = false;
  const double one = time_loads(path, repeat, 1, ds, pieces);
  const double peak_one = peak_rss_mib();
  const double every = all > 1 ? time_loads(path, repeat, all, ds, pieces) : one;
  std::size_t polygons = 0, coords = 0, rles = 0;
  for (const auto& a : ds.annotations) {
    polygons += a.polygons.size();
    for (const auto& p : a.polygons) coords += p.size();
    rles += a.rle.has_value();
  }
  std::printf("file: %s\n", path.c_str());
  std::printf("images %zu, categories %zu, annotations %zu (polygons %zu, coordinates %zu, RLE %zu)\n",
              ds.images.size(), ds.categories.size(), ds.annotations.size(), polygons, coords, rles);
  std::printf("studio: %.3f s on 1 thread, %.3f s on %d (median of %d, %s), peak memory (VmHWM) %.0f MiB "
              "(1 thread: %.0f MiB)\n",
              one, every, all, repeat, pieces ? "read in pieces" : "one walk", peak_rss_mib(), peak_one);
  if (!pycocotools.empty()) {
    const auto ref = studio::bench::run_pycocotools(pycocotools, "load " + path + " --repeat " + std::to_string(repeat),
                                                    "/tmp/bench_coco_load_pycocotools.log");
    std::printf("pycocotools COCO(): %.3f s (median of %d), peak %.0f MiB; studio %.1fx faster (%.1fx on 1 thread)\n",
                ref.at("load_s"), repeat, ref.at("peak_mib"), ref.at("load_s") / every, ref.at("load_s") / one);
  }
  if (!write_path.empty()) {
    auto t0 = std::chrono::steady_clock::now();
    const std::size_t bytes = studio::to_coco_json(ds).size();
    std::printf("serialise time: %.3f s (%.1f MB of JSON)\n", seconds_since(t0), bytes / 1e6);
    t0 = std::chrono::steady_clock::now();
    studio::write_coco(ds, write_path);
    std::printf("write_coco time (serialise + write + fsync): %.3f s (%s)\n", seconds_since(t0),
                write_path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string make_path, load_path, write_path, pycocotools;
  long images = 118000, annotations = 800000;
  int repeat = 3;
  unsigned seed = 1;
  CLI::App app{"bench_coco_load: make a COCO-sized file, or time loading (and writing) one"};
  app.add_option("--make", make_path, "write a generated COCO file there and stop");
  app.add_option("--images", images, "images, with --make")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--annotations", annotations, "annotations, with --make")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "random seed, with --make")->capture_default_str();
  app.add_option("FILE", load_path, "the COCO file to load");
  app.add_option("--repeat", repeat, "timed loads")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--write", write_path, "also write the loaded dataset there");
  app.add_option("--pycocotools", pycocotools, "PYTHONPATH of a pycocotools build (bench/build_pycocotools.sh)");
  auto* make_opt = app.get_option("--make");
  app.get_option("FILE")->excludes(make_opt);
  CLI11_PARSE(app, argc, argv);
  if (make_path.empty() && load_path.empty()) {
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  try {
    if (!make_path.empty()) return make(make_path, images, annotations, seed);
    return load(load_path, repeat, write_path, pycocotools);
  } catch (const studio::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
