#pragma once
// Run-length encoded binary masks in COCO's convention: the mask is read in column-major order
// (down each column, then the next column), counts alternate runs of 0s and 1s and always start
// with a (possibly empty) run of 0s. The compressed string form is the one in COCO JSON files
// and results files (LEB128-like 5-bit groups offset by 48, with deltas from counts[i-2]).
// Rasterising follows the reference C implementation (maskApi.c) so areas and IoUs agree exactly.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace studio {

struct Rle {
  std::uint32_t h = 0;
  std::uint32_t w = 0;
  std::vector<std::uint32_t> counts;

  bool operator==(const Rle& o) const { return h == o.h && w == o.w && counts == o.counts; }
};

// Encodes a row-major h*w mask (nonzero = foreground).
[[nodiscard]] Rle rle_encode(const std::uint8_t* mask, std::uint32_t h, std::uint32_t w);
// Decodes to a row-major h*w mask of 0/1.
[[nodiscard]] std::vector<std::uint8_t> rle_decode(const Rle& rle);

// Compressed string <-> counts. rle_from_string throws studio::Error (message without file name;
// callers prefix it) when the string is malformed or its runs don't sum to h*w.
[[nodiscard]] std::string rle_to_string(const Rle& rle);
[[nodiscard]] Rle rle_from_string(std::string_view s, std::uint32_t h, std::uint32_t w);
// Uncompressed counts (COCO's iscrowd form): checks that the runs sum to h*w.
[[nodiscard]] Rle rle_from_counts(std::vector<std::uint32_t> counts, std::uint32_t h, std::uint32_t w);

// One polygon x0,y0,x1,y1,... rasterised as maskApi.c's rleFrPoly (upsampled by 5, then
// sampled at pixel centres). Several polygons: rasterised separately and merged (union).
[[nodiscard]] Rle rle_from_polygon(const std::vector<double>& xy, std::uint32_t h, std::uint32_t w);
[[nodiscard]] Rle rle_from_polygons(const std::vector<std::vector<double>>& polys, std::uint32_t h,
                                    std::uint32_t w);

// Union (or intersection) of masks of the same size, computed on the runs.
[[nodiscard]] Rle rle_merge(const std::vector<Rle>& rles, bool intersect = false);
[[nodiscard]] std::uint64_t rle_area(const Rle& rle);
// Tight box [x, y, w, h] of the foreground (all zeros when empty), as maskApi.c's rleToBbox.
[[nodiscard]] std::array<double, 4> rle_bbox(const Rle& rle);

}  // namespace studio
