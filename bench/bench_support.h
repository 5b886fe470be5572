#pragma once
// What the benchmarks against a Python reference share (bench_mask_rcnn, bench_ssd_lite): medians,
// timing with a warm-up, the BLAS library this process loaded, and running the reference script
// with and without studio-cli's allocator settings, reading its "RESULT key=value ..." line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"

namespace studio::bench {

// The BLAS shared library mapped into this process (Debian's libblas.so.3 is whichever BLAS its
// alternatives select).
inline std::string blas_library() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.rfind('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(line.find('/'));
    if (line.substr(slash + 1).find("blas") != std::string::npos) return std::filesystem::canonical(path).string();
  }
  return "none loaded";
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Seconds of each of `reps` runs of fn, after one warm-up run.
inline std::vector<double> timed(const std::function<void()>& fn, int reps) {
  fn();
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return times;
}

inline std::string list(const std::vector<double>& v) {
  std::string s;
  char buf[32];
  for (double t : v) std::snprintf(buf, sizeof buf, "%s%.3f", s.empty() ? "" : " ", t), s += buf;
  return s;
}

// studio-cli's allocator settings (keep_freed_tensor_memory) for a Python process.
inline const char* kStudioTunables = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1073741824";

// Runs `command` (a reference script and its arguments) with GLIBC_TUNABLES set to `tunables`
// ("" unsets it), its output to `log`, echoes its human lines and returns the key=value pairs of
// its last line starting "RESULT ". Throws when it fails or prints no RESULT.
inline std::map<std::string, double> run_reference(const std::string& command, const std::string& log,
                                                   const std::string& tunables) {
  const std::string env = tunables.empty() ? "env -u GLIBC_TUNABLES " : "env GLIBC_TUNABLES=" + tunables + " ";
  const std::string cmd = env + command + " > " + log + " 2>&1";
  std::printf("running %s\n", cmd.c_str());
  std::fflush(stdout);
  const int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  std::string line, result;
  while (std::getline(in, line)) {
    if (line.rfind("RESULT ", 0) == 0) result = line;
    else std::printf("  %s\n", line.c_str());
  }
  std::map<std::string, double> values;
  std::istringstream fields(result.empty() ? "" : result.substr(7));
  for (std::string field; fields >> field;) {
    const auto eq = field.find('=');
    if (eq != std::string::npos) values[field.substr(0, eq)] = std::atof(field.c_str() + eq + 1);
  }
  if (rc != 0 || values.empty())
    throw Error("the reference failed (exit " + std::to_string(rc) + "); its output is in " + log);
  return values;
}

// pycocotools, built by bench/build_pycocotools.sh, as the other side of bench_coco_load and
// bench_coco_eval: the PYTHONPATH given (--pycocotools, else $STUDIO_PYCOCOTOOLS), or "" with a
// note that only the studio's figures follow.
inline std::string pycocotools_path(const std::string& given) {
  std::string path = given;
  if (path.empty())
    if (const char* env = std::getenv("STUDIO_PYCOCOTOOLS")) path = env;
  if (path.empty())
    std::printf("pycocotools: not given (--pycocotools DIR or STUDIO_PYCOCOTOOLS; bench/build_pycocotools.sh "
                "builds it); the studio's figures alone\n");
  return path;
}

// Runs bench/pycocotools_time.py with `args` ("load FILE --repeat 3", ...) against pycocotools at
// `path`, returning its RESULT values; the 12 stats of an eval come back as stat0..stat11.
inline std::map<std::string, double> run_pycocotools(const std::string& path, const std::string& args,
                                                     const std::string& log) {
  const std::string script = std::string(STUDIO_BENCH_DIR) + "/pycocotools_time.py";
  auto values = run_reference("env PYTHONPATH=" + path + " /usr/bin/python3 " + script + " " + args, log, "");
  std::ifstream in(log);
  std::string line, stats;
  while (std::getline(in, line))
    if (line.rfind("RESULT ", 0) == 0 && line.find(" stats=") != std::string::npos)
      stats = line.substr(line.find(" stats=") + 7);
  std::istringstream fields(stats);
  int k = 0;
  for (std::string field; std::getline(fields, field, ',');) values["stat" + std::to_string(k++)] = std::atof(field.c_str());
  return values;
}

}  // namespace studio::bench
