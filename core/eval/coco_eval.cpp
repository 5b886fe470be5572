// evaluate_coco: pycocotools' COCOeval(gt, dt, type).evaluate(); accumulate(); summarize().
// The (category, image) pairs are bucketed once in flat tables, evaluated on a thread pool into
// per-pair slots (so the result is independent of the thread count), then accumulated.
#include "eval/coco_eval.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/error.h"
#include "eval/coco_eval_internal.h"

namespace studio {
namespace {

// numpy.linspace(start, stop, num): start + i * step with step = (stop - start) / (num - 1), the
// last value set to stop exactly. `volatile` keeps the compiler from fusing into an FMA, which
// would round differently from numpy.
std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> v(static_cast<std::size_t>(num));
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) {
    volatile double prod = static_cast<double>(i) * step;
    v[static_cast<std::size_t>(i)] = prod + start;
  }
  if (num > 1) v.back() = stop;
  return v;
}

}  // namespace

CocoEvalParams::CocoEvalParams()
    : iou_thrs(linspace(0.5, 0.95, static_cast<int>(std::nearbyint((0.95 - 0.5) / 0.05)) + 1)),
      rec_thrs(linspace(0.0, 1.0, static_cast<int>(std::nearbyint((1.0 - 0.0) / 0.01)) + 1)),
      area_ranges{{0.0, 1e10}, {0.0, 32.0 * 32.0}, {32.0 * 32.0, 96.0 * 96.0}, {96.0 * 96.0, 1e10}} {}

namespace coco_detail {

void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& fn) {
  std::size_t nt = threads > 0 ? static_cast<std::size_t>(threads) : std::thread::hardware_concurrency();
  nt = std::max<std::size_t>(1, std::min(nt, n));
  if (nt == 1) {
    for (std::size_t j = 0; j < n; ++j) fn(j);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (;;) {
      const std::size_t j = next.fetch_add(1, std::memory_order_relaxed);
      if (j >= n || failed.load(std::memory_order_relaxed)) return;
      try {
        fn(j);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(nt - 1);
  for (std::size_t t = 1; t < nt; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace coco_detail

CocoEvalResult evaluate_coco(const Dataset& gt, const std::vector<Detection>& dt, IouType type,
                             const CocoEvalParams& params_in, const Progress& progress, int threads) {
  using namespace coco_detail;
  // evaluate() sorts p.maxDets in place; the result carries the parameters as used.
  CocoEvalParams params = params_in;
  std::sort(params.max_dets.begin(), params.max_dets.end());
  if (params.iou_thrs.empty() || params.rec_thrs.empty() || params.max_dets.empty() ||
      params.area_ranges.empty())
    throw Error("COCO evaluation: empty parameter list");
  if (!params.use_cats) throw Error("COCO evaluation: use_cats = false is not supported");

  EvalInput in;
  in.gt = &gt;
  in.dt = &dt;
  in.type = type;
  in.params = &params;
  // params.imgIds = sorted(gt image ids), params.catIds = sorted(gt category ids).
  std::unordered_map<std::int64_t, std::uint32_t> img_pos, cat_pos;
  for (const auto& im : gt.images) in.img_ids.push_back(im.id);
  for (const auto& c : gt.categories) in.cat_ids.push_back(c.id);
  std::sort(in.img_ids.begin(), in.img_ids.end());
  in.img_ids.erase(std::unique(in.img_ids.begin(), in.img_ids.end()), in.img_ids.end());
  std::sort(in.cat_ids.begin(), in.cat_ids.end());
  in.cat_ids.erase(std::unique(in.cat_ids.begin(), in.cat_ids.end()), in.cat_ids.end());
  img_pos.reserve(in.img_ids.size());
  for (std::size_t i = 0; i < in.img_ids.size(); ++i) img_pos[in.img_ids[i]] = static_cast<std::uint32_t>(i);
  for (std::size_t k = 0; k < in.cat_ids.size(); ++k) cat_pos[in.cat_ids[k]] = static_cast<std::uint32_t>(k);
  in.images.assign(in.img_ids.size(), nullptr);
  for (const auto& im : gt.images) in.images[img_pos[im.id]] = &im;

  const std::size_t I = in.img_ids.size(), K = in.cat_ids.size();
  const std::size_t P = I * K;
  // Counting sort into (k, i) buckets keeps file order inside a bucket, as pycocotools' lists.
  auto bucket = [&](std::size_t n, auto key_of, std::vector<std::uint32_t>& start,
                    std::vector<std::uint32_t>& idx) {
    std::vector<std::uint32_t> keys(n);
    start.assign(P + 1, 0);
    for (std::size_t j = 0; j < n; ++j) {
      keys[j] = key_of(j);
      if (keys[j] != UINT32_MAX) ++start[keys[j] + 1];
    }
    for (std::size_t p = 0; p < P; ++p) start[p + 1] += start[p];
    idx.resize(start[P]);
    std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
    for (std::size_t j = 0; j < n; ++j)
      if (keys[j] != UINT32_MAX) idx[fill[keys[j]]++] = static_cast<std::uint32_t>(j);
  };
  if (P >= UINT32_MAX || gt.annotations.size() >= UINT32_MAX || dt.size() >= UINT32_MAX)
    throw Error("COCO evaluation: too many images, categories or objects");
  bucket(
      gt.annotations.size(),
      [&](std::size_t j) -> std::uint32_t {
        const auto ii = img_pos.find(gt.annotations[j].image_id);
        const auto kk = cat_pos.find(gt.annotations[j].category_id);
        if (ii == img_pos.end() || kk == cat_pos.end()) return UINT32_MAX;  // outside imgIds/catIds
        return static_cast<std::uint32_t>(kk->second * I + ii->second);
      },
      in.gt_start, in.gt_idx);
  bucket(
      dt.size(),
      [&](std::size_t j) -> std::uint32_t {
        const auto ii = img_pos.find(dt[j].image_id);
        if (ii == img_pos.end())
          throw Error("COCO evaluation: detection " + std::to_string(j) + " has image id " +
                      std::to_string(dt[j].image_id) + ", which is not in the ground truth");
        const auto kk = cat_pos.find(dt[j].category_id);
        if (kk == cat_pos.end()) return UINT32_MAX;  // never looked up by pycocotools either
        return static_cast<std::uint32_t>(kk->second * I + ii->second);
      },
      in.dt_start, in.dt_idx);

  // Pairs with something in them (evaluateImg returns None for the others), in (k, i) order.
  std::vector<std::uint32_t> work;
  for (std::size_t p = 0; p < P; ++p)
    if (in.gt_start[p + 1] > in.gt_start[p] || in.dt_start[p + 1] > in.dt_start[p])
      work.push_back(static_cast<std::uint32_t>(p));
  std::vector<PairResult> pairs(work.size());
  const std::size_t chunk = 64;
  const std::size_t chunks = (work.size() + chunk - 1) / chunk;
  std::atomic<std::size_t> done{0};
  progress(0, work.size(), "evaluating");
  parallel_for(chunks, threads, [&](std::size_t c) {
    progress.check_cancel();
    const std::size_t end = std::min(work.size(), (c + 1) * chunk);
    for (std::size_t j = c * chunk; j < end; ++j)
      evaluate_pair(in, static_cast<std::uint32_t>(work[j] / I), static_cast<std::uint32_t>(work[j] % I),
                    pairs[j]);
    const std::size_t now = done.fetch_add(end - c * chunk) + (end - c * chunk);
    progress(now, work.size(), "evaluating");
  });
  progress.check_cancel();

  CocoEvalResult result;
  result.type = type;
  result.params = params;
  result.cat_ids = in.cat_ids;
  progress(0, 1, "accumulating");
  accumulate_pairs(pairs, result, threads);
  progress.check_cancel();
  summarize(result);
  progress(1, 1, "accumulating");
  return result;
}

}  // namespace studio
