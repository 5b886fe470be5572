#pragma once
// The one in-memory dataset model shared by every format (COCO, VOC, TXT) and every layer.
// Coordinates follow COCO: pixels are unit squares, (0,0) is the top-left corner of the top-left
// pixel, a box is [x, y, width, height] in those continuous coordinates.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/rle.h"

namespace studio {

struct ImageInfo {
  std::int64_t id = 0;
  std::string file_name;  // relative to Dataset::image_root (as in COCO's file_name)
  int width = 0;           // 0 when unknown (e.g. a TXT list whose image could not be read)
  int height = 0;
  // Where the image's annotations are written, for messages ("list.txt:12", ".../000005.xml:1"):
  // the TXT list and the image's line, or VOC's XML file and its <annotation> line. Empty and 0
  // when the reader does not record it (COCO, generated datasets).
  std::string source_file;
  long source_line = 0;
  // The annotation file recorded a zero width or height (VOC's <size>), and the reader took the
  // size from the image file instead; the checker reports it.
  bool size_from_image = false;
};

struct Category {
  std::int64_t id = 0;
  std::string name;
  std::string supercategory;
};

struct Annotation {
  std::int64_t id = 0;
  std::int64_t image_id = 0;
  std::int64_t category_id = 0;
  std::array<double, 4> bbox{0, 0, 0, 0};    // x, y, w, h
  std::vector<std::vector<double>> polygons;  // each x0,y0,x1,y1,... (COCO "segmentation" list)
  std::optional<Rle> rle;                     // COCO RLE segmentation (iscrowd or mask datasets)
  double area = 0;                            // COCO "area" (as given; computed when absent)
  bool iscrowd = false;
  bool difficult = false;  // VOC
  bool truncated = false;  // VOC
  // Line of its image's source_file it is written on (TXT: the image's line; VOC: its
  // <object>); 0 when unknown.
  long source_line = 0;

  [[nodiscard]] bool has_mask() const { return rle.has_value() || !polygons.empty(); }
};

enum class DatasetFormat { Coco, Voc, Txt, Synthetic };

struct Dataset {
  std::vector<ImageInfo> images;
  std::vector<Category> categories;
  std::vector<Annotation> annotations;
  std::string image_root;   // folder the image file names are relative to
  std::string source;       // what it was read from, for messages ("coco:ann.json", ...)
  DatasetFormat format = DatasetFormat::Coco;
  // A COCO file without an "annotations" key (as pycocotools, read as a test-set image list): the
  // checker says so once instead of once an image.
  bool annotation_list_missing = false;

  // Lookups (built on demand by index(); call again after editing the vectors).
  void index();
  [[nodiscard]] const ImageInfo* image_by_id(std::int64_t id) const;
  [[nodiscard]] const Category* category_by_id(std::int64_t id) const;
  // Position of a category in `categories` (the contiguous class index models use), or -1.
  [[nodiscard]] int category_index(std::int64_t id) const;
  // Indices into `annotations` of the annotations of one image (empty for unknown ids).
  [[nodiscard]] const std::vector<std::size_t>& annotations_of(std::int64_t image_id) const;
  // Full path of an image file: image_root joined with file_name.
  [[nodiscard]] std::string image_path(const ImageInfo& image) const;

 private:
  std::unordered_map<std::int64_t, std::size_t> image_pos_;
  std::unordered_map<std::int64_t, std::size_t> category_pos_;
  std::unordered_map<std::int64_t, std::vector<std::size_t>> anns_by_image_;
};

// The 20 Pascal VOC classes in their standard order (ids 1..20 in our model).
const std::vector<std::string>& voc_class_names();

}  // namespace studio
