#pragma once
// Dataset statistics: what `studio-cli stats` prints and the Dataset page summarises.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace studio {

struct ClassStats {
  std::int64_t category_id = 0;
  std::string name;
  std::size_t annotations = 0;
  std::size_t images = 0;  // images with at least one annotation of this class
};

struct Histogram {
  std::vector<double> edges;         // bins are [edges[i], edges[i+1]); size = counts + 1
  std::vector<std::size_t> counts;
};

struct DatasetStats {
  std::size_t images = 0;
  std::size_t annotations = 0;
  std::size_t crowd = 0;
  std::size_t difficult = 0;
  std::size_t images_without_annotations = 0;
  std::vector<ClassStats> classes;        // in category order
  std::array<std::size_t, 3> coco_sizes{};  // small (< 32^2), medium, large (> 96^2), by area
  Histogram box_sqrt_area;                  // sqrt(w*h) in pixels
  Histogram aspect_ratio;                   // log2(w/h) bins, labelled by their edges
};

[[nodiscard]] DatasetStats compute_stats(const Dataset& dataset);
[[nodiscard]] std::string stats_to_json(const DatasetStats& stats);
[[nodiscard]] std::string stats_to_text(const DatasetStats& stats);

}  // namespace studio
