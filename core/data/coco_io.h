#pragma once
// COCO instance-annotation JSON: reading (streaming, simdjson on-demand; train2017-sized files in
// seconds) and writing. Extra fields are ignored. Errors name the file, the JSON path
// (e.g. "annotations[12].segmentation.counts") and, where known, the line.
#include <string>

#include "common/progress.h"
#include "data/dataset.h"
#include "data/read_options.h"

namespace studio {

// Reads `json_path`; `image_root` is stored in the dataset (the folder file names are relative to).
// Throws studio::Error on malformed JSON, wrong types, missing required fields, bad RLE counts.
// Progress is (bytes walked, file size, "reading <file>"), about every 10,000 images or
// annotations; cancellation is checked at the same points (studio::Cancelled).
[[nodiscard]] Dataset read_coco(const std::string& json_path, const std::string& image_root,
                                const Progress& progress = {}, const ReadOptions& options = {});
// Parses COCO JSON held in memory; `name` is used in error messages in place of a file name.
[[nodiscard]] Dataset parse_coco(std::string_view json, const std::string& name,
                                 const std::string& image_root = "");

// Serialises to COCO JSON (images, categories, annotations; polygons, RLE as compressed string
// for non-crowd masks and uncompressed counts for iscrowd, as COCO itself does).
[[nodiscard]] std::string to_coco_json(const Dataset& dataset);
// Writes atomically (temp + rename).
void write_coco(const Dataset& dataset, const std::string& json_path);

}  // namespace studio
