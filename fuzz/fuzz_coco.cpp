// Fuzz target: COCO annotation files (data/coco_io.h). Each input is read twice: in memory by
// parse_coco, and from a file by read_coco with the piece reader forced on (every file counts as
// big, pieces of a few hundred bytes). Both must refuse it with studio::Error or give the same
// dataset, and a dataset read must come back the same from to_coco_json.
#include <cstdint>
#include <optional>
#include <string>

#include "data/coco_io.h"
#include "fuzz_support.h"

namespace {

using studio::Annotation;
using studio::Dataset;

// The first difference between two datasets read from the same text ("" when none).
std::string difference(const Dataset& a, const Dataset& b) {
  if (a.images.size() != b.images.size()) return "image counts differ";
  if (a.categories.size() != b.categories.size()) return "category counts differ";
  if (a.annotations.size() != b.annotations.size()) return "annotation counts differ";
  for (std::size_t i = 0; i < a.images.size(); ++i) {
    const auto& x = a.images[i];
    const auto& y = b.images[i];
    if (x.id != y.id || x.file_name != y.file_name || x.width != y.width || x.height != y.height)
      return "images[" + std::to_string(i) + "] differs";
  }
  for (std::size_t i = 0; i < a.categories.size(); ++i) {
    const auto& x = a.categories[i];
    const auto& y = b.categories[i];
    if (x.id != y.id || x.name != y.name || x.supercategory != y.supercategory)
      return "categories[" + std::to_string(i) + "] differs";
  }
  for (std::size_t i = 0; i < a.annotations.size(); ++i) {
    const Annotation& x = a.annotations[i];
    const Annotation& y = b.annotations[i];
    if (x.id != y.id || x.image_id != y.image_id || x.category_id != y.category_id || x.bbox != y.bbox ||
        x.polygons != y.polygons || !(x.rle == y.rle) || x.area != y.area || x.iscrowd != y.iscrowd)
      return "annotations[" + std::to_string(i) + "] differs";
  }
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fuzz = studio::fuzz;
  static const fuzz::Scratch scratch("coco");
  const std::string_view json = fuzz::as_text(data, size);

  std::optional<Dataset> in_memory;
  fuzz::reads([&] { in_memory = studio::parse_coco(json, "fuzz.json", "images"); });

  const std::string path = scratch.write("annotations.json", json);
  studio::ReadOptions pieces;
  pieces.pieces_above = 0;
  pieces.piece_bytes = 256;
  pieces.threads = 1;
  std::optional<Dataset> from_file;
  fuzz::reads([&] { from_file = studio::read_coco(path, "images", {}, pieces); });

  if (in_memory.has_value() != from_file.has_value())
    fuzz::finding(std::string("parse_coco ") + (in_memory ? "read" : "refused") +
                  " the text, read_coco in pieces " + (from_file ? "read" : "refused") + " it");
  if (!in_memory) return 0;
  if (const std::string d = difference(*in_memory, *from_file); !d.empty())
    fuzz::finding("parse_coco and read_coco in pieces: " + d);

  // What the studio writes (convert, the dataset writers) it must read back unchanged.
  const std::string written = studio::to_coco_json(*in_memory);
  std::optional<Dataset> again;
  try {
    again = studio::parse_coco(written, "written.json", "images");
  } catch (const studio::Error& e) {
    fuzz::finding(std::string("to_coco_json wrote what parse_coco refuses: ") + e.what());
  }
  if (const std::string d = difference(*in_memory, *again); !d.empty())
    fuzz::finding("to_coco_json and back: " + d);
  return 0;
}
