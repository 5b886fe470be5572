// Fuzz target: COCO results files (eval/coco_results.h), against a small fixed ground truth
// (images 1, 2, 5 of 4x3, 10x10 and 1x2 pixels; categories 1, 2, 7). Each input is read as bbox
// and as segm results, in memory and from a file with the piece reader forced on: for each type
// both readings must refuse it with studio::Error or give the same detections. Box results must
// come back the same from to_coco_results_json.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/coco_results.h"
#include "fuzz_support.h"

namespace {

using studio::Detection;
using studio::IouType;

studio::Dataset ground_truth() {
  studio::Dataset gt;
  gt.images = {{1, "a.jpg", 4, 3}, {2, "b.jpg", 10, 10}, {5, "c.jpg", 1, 2}};
  gt.categories = {{1, "cat", ""}, {2, "dog", ""}, {7, "bird", ""}};
  gt.index();
  return gt;
}

bool same(const Detection& a, const Detection& b) {
  return a.image_id == b.image_id && a.category_id == b.category_id && a.bbox == b.bbox && a.segm == b.segm &&
         a.score == b.score && a.area == b.area;
}

// The first difference between two readings of the same text ("" when none).
std::string difference(const std::vector<Detection>& a, const std::vector<Detection>& b) {
  if (a.size() != b.size()) return "detection counts differ";
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same(a[i], b[i])) return "detection [" + std::to_string(i) + "] differs";
  return {};
}

void check(IouType type, std::string_view json, const std::string& path) {
  namespace fuzz = studio::fuzz;
  static const studio::Dataset gt = ground_truth();
  const std::string name = studio::iou_type_name(type);

  std::optional<std::vector<Detection>> in_memory;
  fuzz::reads([&] { in_memory = studio::parse_coco_results(json, "fuzz.json", gt, type); });
  studio::ReadOptions pieces;
  pieces.pieces_above = 0;
  pieces.piece_bytes = 128;
  pieces.threads = 1;
  std::optional<std::vector<Detection>> from_file;
  fuzz::reads([&] { from_file = studio::read_coco_results(path, gt, type, pieces); });

  if (in_memory.has_value() != from_file.has_value())
    fuzz::finding(name + ": parse_coco_results " + (in_memory ? "read" : "refused") +
                  " the text, read_coco_results in pieces " + (from_file ? "read" : "refused") + " it");
  if (!in_memory) return;
  if (const std::string d = difference(*in_memory, *from_file); !d.empty())
    fuzz::finding(name + ": parse_coco_results and read_coco_results in pieces: " + d);

  if (type != IouType::Bbox) return;  // segm areas follow the first result's bbox (loadRes), not round-trip
  const std::string written = studio::to_coco_results_json(*in_memory);
  std::optional<std::vector<Detection>> again;
  try {
    again = studio::parse_coco_results(written, "written.json", gt, type);
  } catch (const studio::Error& e) {
    fuzz::finding(std::string("to_coco_results_json wrote what parse_coco_results refuses: ") + e.what());
  }
  if (const std::string d = difference(*in_memory, *again); !d.empty())
    fuzz::finding("to_coco_results_json and back: " + d);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const studio::fuzz::Scratch scratch("results");
  const std::string_view json = studio::fuzz::as_text(data, size);
  const std::string path = scratch.write("results.json", json);
  check(IouType::Bbox, json, path);
  check(IouType::Segm, json, path);
  return 0;
}
