#pragma once
// How a dataset is named on the command line and in YAML, the same on every subcommand:
//   --coco ann.json --images DIR
//   --voc ROOT[,ROOT...] --split trainval [--names names.txt]
//   --txt list.txt --images DIR [--names names.txt]
//   a dataset YAML file (format: coco|voc|txt plus the same keys)
//   one token: coco:ANN.json:IMAGES_DIR | voc:ROOT[+ROOT]:SPLIT | txt:LIST.txt:IMAGES_DIR[:NAMES.txt]
#include <functional>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"

namespace YAML {
class Node;
}

namespace studio {

struct DatasetSpec {
  DatasetFormat format = DatasetFormat::Coco;
  std::string annotations;          // COCO json / TXT list
  std::string images;               // image folder (COCO, TXT)
  std::string names;                // names file (optional; VOC: the only classes allowed)
  std::vector<std::string> roots;   // VOC roots
  std::string split = "trainval";   // VOC split
  bool voc_standard_classes = true;
  // outside_paths: refuse: an image file name that is absolute or climbs out of the image folder
  // with ".." makes load_dataset fail (allow, the default, reads it; the checker warns).
  bool refuse_outside_paths = false;

  [[nodiscard]] std::string describe() const;  // e.g. "coco:ann.json:images/"
};

// Parses a one-token spec (above) or, when the token names an existing .yaml/.yml file, a
// dataset YAML. Throws studio::Error saying which forms are accepted.
[[nodiscard]] DatasetSpec parse_dataset_token(const std::string& token);

// Dataset YAML: keys format, annotations, images, names, roots (list or string), split,
// standard_classes, outside_paths (allow | refuse). Unknown keys and bad values are errors naming the file, key and what is allowed.
[[nodiscard]] DatasetSpec load_dataset_yaml(const std::string& path);

// Where a dataset mapping came from, so one reader serves a dataset YAML file and a mapping
// inside a recipe (data.train): it locates messages and resolves relative paths.
struct DatasetMappingOrigin {
  // Throws studio::Error (must not return). `node` is the offending value or key (its own line is
  // used when it has one); `about` the top-level key the problem is at ("" = the mapping itself),
  // for a line when the node has none; `label` what the message is about ("roots[1]"; "" when the
  // message names it itself).
  std::function<void(const YAML::Node& node, const std::string& about, const std::string& label,
                     const std::string& message)>
      fail;
  // A path given under top-level `key`, made usable from the working directory.
  std::function<std::string(const std::string& key, const std::string& path)> resolve;
};

// A dataset YAML's mapping (keys as load_dataset_yaml) read with the given origin.
[[nodiscard]] DatasetSpec dataset_spec_from_yaml(const YAML::Node& mapping, const DatasetMappingOrigin& origin);
// The same with messages "<where>:<line>: <key>: ..." (lines from the nodes' marks) and relative
// paths joined to `base_folder` ("" = as given).
[[nodiscard]] DatasetSpec dataset_spec_from_yaml(const YAML::Node& mapping, const std::string& where,
                                                 const std::string& base_folder);

// Reads the dataset with the matching reader.
[[nodiscard]] Dataset load_dataset(const DatasetSpec& spec, const Progress& progress = {});

}  // namespace studio
