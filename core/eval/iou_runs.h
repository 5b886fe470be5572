#pragma once
// Internal to core/eval: masks prepared once for many IoU evaluations. A RunMask keeps the
// foreground runs of an Rle as half-open [begin, end) intervals of the column-major pixel index
// (index = x * h + y), plus its tight box and area, so that an IoU is one merge of two sorted
// interval lists, restricted to the columns where the two boxes overlap.
#include <cstdint>
#include <vector>

#include "data/rle.h"
#include "eval/iou.h"

namespace studio {

struct RunMask {
  std::uint32_t h = 0;
  std::uint32_t w = 0;
  std::vector<std::uint32_t> runs;  // begin0, end0, begin1, end1, ... (foreground only, sorted)
  std::uint32_t x0 = 0, x1 = 0;     // first and last column holding foreground (valid when area > 0)
  std::uint32_t y0 = 0, y1 = 0;     // first and last row holding foreground
  std::uint64_t area = 0;
};

[[nodiscard]] RunMask make_run_mask(const Rle& rle);

// maskApi.c's bbIou for one pair (x, y, w, h boxes); crowd: the denominator is the dt box area.
[[nodiscard]] double box_pair_iou(const Box& dt, const Box& gt, bool crowd);

// maskApi.c's rleIou for one pair: intersection / union, or / dt area for a crowd gt; 0 when the
// masks don't intersect. Throws studio::Error when the sizes differ.
[[nodiscard]] double run_mask_iou(const RunMask& dt, const RunMask& gt, bool crowd);

}  // namespace studio
