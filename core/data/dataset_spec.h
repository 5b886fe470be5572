#pragma once
// How a dataset is named on the command line and in YAML, the same on every subcommand:
//   --coco ann.json --images DIR
//   --voc ROOT[,ROOT...] --split trainval
//   --txt list.txt --images DIR [--names names.txt]
//   a dataset YAML file (format: coco|voc|txt plus the same keys)
//   one token: coco:ANN.json:IMAGES_DIR | voc:ROOT[+ROOT]:SPLIT | txt:LIST.txt:IMAGES_DIR[:NAMES.txt]
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"

namespace studio {

struct DatasetSpec {
  DatasetFormat format = DatasetFormat::Coco;
  std::string annotations;          // COCO json / TXT list
  std::string images;               // image folder (COCO, TXT)
  std::string names;                // TXT names file (optional)
  std::vector<std::string> roots;   // VOC roots
  std::string split = "trainval";   // VOC split
  bool voc_standard_classes = true;

  [[nodiscard]] std::string describe() const;  // e.g. "coco:ann.json:images/"
};

// Parses a one-token spec (above) or, when the token names an existing .yaml/.yml file, a
// dataset YAML. Throws studio::Error saying which forms are accepted.
[[nodiscard]] DatasetSpec parse_dataset_token(const std::string& token);

// Dataset YAML: keys format, annotations, images, names, roots (list or string), split,
// standard_classes. Unknown keys and bad values are errors naming the file, key and what is allowed.
[[nodiscard]] DatasetSpec load_dataset_yaml(const std::string& path);

// Reads the dataset with the matching reader.
[[nodiscard]] Dataset load_dataset(const DatasetSpec& spec, const Progress& progress = {});

}  // namespace studio
