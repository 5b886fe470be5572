#pragma once
// IoU between sets of boxes or run-length masks, with COCO's crowd semantics: for a crowd ground
// truth the denominator is the detection's own area (a detection inside a crowd region scores 1).
// Masks are compared on their runs, never decoded to pixels.
#include <array>
#include <cstddef>
#include <vector>

#include "data/rle.h"

namespace studio {

using Box = std::array<double, 4>;  // x, y, w, h (COCO)

// Row-major D x G matrix: result[d * G + g]. `crowd` has G entries (empty: none are crowd).
[[nodiscard]] std::vector<double> box_iou(const std::vector<Box>& dt, const std::vector<Box>& gt,
                                          const std::vector<bool>& crowd);
// Same for masks; all masks must have the same h and w (throws studio::Error otherwise).
[[nodiscard]] std::vector<double> rle_iou(const std::vector<const Rle*>& dt, const std::vector<const Rle*>& gt,
                                          const std::vector<bool>& crowd);

}  // namespace studio
