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

// How the generated set is written (the images are the same JPEGs in every format):
//   Coco: images/*.jpg and annotations.json (boxes and polygons)
//   Voc:  JPEGImages/*.jpg, Annotations/*.xml, ImageSets/Main/<split>.txt and names.txt (boxes)
//   Txt:  images/*.jpg, <split>.txt ("file x1,y1,x2,y2,cls ...") and names.txt (boxes)
enum class ShapesFormat { Coco, Voc, Txt };

struct ShapesOptions {
  std::string out_dir;       // created if missing
  ShapesFormat format = ShapesFormat::Coco;
  std::string split = "trainval";  // VOC's ImageSets/Main/<split>.txt, TXT's <split>.txt
  int images = 16;
  std::uint64_t seed = 1;
  int size = 256;            // image width and height in pixels
  int min_objects = 1;
  int max_objects = 6;
};

// The class names, in category-id order (ids 1..N).
const std::vector<std::string>& shapes_class_names();

// Generates the set and returns the dataset it wrote (image_root = the image folder).
Dataset generate_shapes(const ShapesOptions& options, const Progress& progress = {});

}  // namespace studio
