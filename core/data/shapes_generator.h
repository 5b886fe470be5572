#pragma once
// The shapes generator: a small COCO instance-segmentation dataset of coloured shapes (circles,
// squares, triangles, stars, ...) on textured backgrounds, several per image and overlapping.
// Masks are the visible parts (later shapes occlude earlier ones), written as polygons.
// Used by the demo, the tests and the benchmarks; deterministic for a given seed.
#include <cstdint>
#include <string>

#include "common/progress.h"
#include "data/dataset.h"

namespace studio {

struct ShapesOptions {
  std::string out_dir;       // created if missing; writes images/*.jpg and annotations.json
  int images = 16;
  std::uint64_t seed = 1;
  int size = 256;            // image width and height in pixels
  int min_objects = 1;
  int max_objects = 6;
};

// The class names, in category-id order (ids 1..N).
const std::vector<std::string>& shapes_class_names();

// Generates the set and returns the dataset it wrote (image_root = out_dir/images).
Dataset generate_shapes(const ShapesOptions& options, const Progress& progress = {});

}  // namespace studio
