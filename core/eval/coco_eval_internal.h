#pragma once
// Internal to core/eval: the per (category, image) results that COCOeval.evaluateImg produces,
// in the compact form accumulate() needs, and the two halves of evaluate_coco.
#include <cstdint>
#include <functional>
#include <vector>

#include "data/dataset.h"
#include "eval/coco_eval.h"
#include "eval/coco_results.h"

namespace studio::coco_detail {

// Outcome of one detection at one IoU threshold and area range, as accumulate() reads
// dtMatches / dtIgnore: a true positive (matched, gt id != 0, not ignored), a false positive
// (dtm == 0, not ignored) or ignored (counts in neither cumulative sum but still takes a place).
enum DetState : std::uint8_t { kFalsePositive = 0, kTruePositive = 1, kIgnored = 2 };

// evaluateImg for one (image, category) with at least one gt or one detection, for all area
// ranges at maxDet = max_dets.back().
struct PairResult {
  std::uint32_t k = 0;               // category position in the sorted category ids
  std::uint32_t i = 0;               // image position in the sorted image ids
  std::vector<double> scores;        // D kept detections, highest score first (stable)
  std::vector<std::uint8_t> states;  // [A][T][D] DetState
  std::vector<std::uint32_t> npig;   // [A] number of gt not ignored for that area range
};

// What the evaluation works on: annotations and detections bucketed by (category, image).
struct EvalInput {
  const Dataset* gt = nullptr;
  const std::vector<Detection>* dt = nullptr;
  IouType type = IouType::Bbox;
  const CocoEvalParams* params = nullptr;
  std::vector<std::int64_t> img_ids, cat_ids;  // sorted
  std::vector<const ImageInfo*> images;        // by image position
  // Bucket of pair p = k * I + i: gt_idx[gt_start[p] .. gt_start[p+1]) in file order; same for dt.
  std::vector<std::uint32_t> gt_start, gt_idx, dt_start, dt_idx;
};

// evaluateImg (and computeIoU) for the pair k * I + i.
void evaluate_pair(const EvalInput& in, std::uint32_t k, std::uint32_t i, PairResult& out);

// accumulate(): fills precision, scores, recall of `result` (cat_ids and params already set)
// from the pair results sorted by (k, i).
void accumulate_pairs(const std::vector<PairResult>& pairs, CocoEvalResult& result, int threads);

// summarize(): the 12 numbers.
void summarize(CocoEvalResult& result);

// Runs fn(0..n-1) over `threads` threads (0: all cores), work handed out in index order.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& fn);

}  // namespace studio::coco_detail
