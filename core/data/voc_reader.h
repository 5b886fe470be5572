#pragma once
// Pascal VOC (VOCdevkit layout): <root>/Annotations/<id>.xml, <root>/JPEGImages/<id>.jpg,
// <root>/ImageSets/Main/<split>.txt, optional <root>/SegmentationObject/<id>.png.
//
// Pixel convention: VOC corners are 1-based and inclusive (xmin=1 is the first pixel column).
// We convert to COCO's continuous 0-based boxes: x = xmin - 1, y = ymin - 1,
// w = xmax - xmin + 1, h = ymax - ymin + 1, so a box covering pixels 1..10 has width 10.
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"

namespace studio {

struct VocOptions {
  std::vector<std::string> roots;  // several roots are combined (VOC2007 + VOC2012)
  std::string split = "trainval";  // ImageSets/Main/<split>.txt
  // true: the 20 standard classes (ids 1..20 in the standard order); an unknown name is an error.
  // false: the classes found in the XML files, sorted by name.
  bool standard_classes = true;
  // A names file (one class a line, data/class_names.h): when given, its classes in its order
  // (ids 1..N) and an object whose <name> it does not list is an error; standard_classes is then
  // not used.
  std::string names_file;
  // Read SegmentationObject/<id>.png (when present) into instance masks (RLE).
  bool load_masks = true;
};

// Image ids are assigned 1..N in split order (roots in the given order). Roots may differ, so
// Dataset::image_root is "" and each ImageInfo::file_name is the path "<root>/JPEGImages/<id>.jpg"
// (the XML's <filename> is used instead when it has the same stem, e.g. "<id>.png" from labelling
// tools). A split file may also be a class split ("dog_trainval": "<id> 1|0|-1"); -1 lines are
// left out. A <size> of 0 is replaced by the size in the image file's header.
// Masks: SegmentationObject pixel value k is the k-th <object> of the XML (1-based), 0 background,
// 255 void (in no mask). An object with no pixels keeps its box only (no empty RLE). With a mask,
// Annotation::area is its pixel count; otherwise the box area.
// Annotation ids are 1..M in reading order. ImageInfo::source_file is the XML file (source_line
// its <annotation>) and Annotation::source_line the line of its <object>, for the checker.
// Throws studio::Error naming the file (and XML element)
// for a missing split file, malformed XML, a missing/non-numeric field or a class outside the standard or
// listed names.
[[nodiscard]] Dataset read_voc(const VocOptions& options, const Progress& progress = {});

}  // namespace studio
