#pragma once
// Which datasets a recipe trains and evaluates on (data.train, data.val), and the command-line
// options that replace them (--train-data, --val-data).
//
// In a recipe the value is either one string, a dataset token (coco:ANN.json:IMAGES |
// voc:ROOT[+ROOT]:SPLIT | txt:LIST.txt:IMAGES[:NAMES.txt]) or the path of a dataset YAML, or a
// mapping with a dataset YAML's keys (format, annotations, images, names, roots, split,
// standard_classes). Relative paths resolve against the folder of the recipe file that set the
// key (a `base:` recipe's paths against its own folder; values given with -o against the working
// directory), so a recipe works from any directory. Errors name the recipe file, line and key:
//   "configs/x.yaml:47: data.train: unknown key 'image' (allowed: format, annotations, ...)"
#include <string>

#include "common/config.h"
#include "data/dataset_spec.h"

namespace studio {

// `key` is dotted, e.g. "data.train". Throws studio::Error when the key is missing or malformed.
[[nodiscard]] DatasetSpec dataset_spec_from_recipe(const Config& recipe, const std::string& key);

// A command-line value (token or dataset YAML path, relative to the working directory); errors
// are prefixed with `option` (e.g. "--train-data").
[[nodiscard]] DatasetSpec dataset_spec_from_argument(const std::string& token, const std::string& option);

// The command line wins: a non-empty `argument` is read with dataset_spec_from_argument, otherwise
// the recipe's `key`. A missing key says both ways of giving the dataset.
[[nodiscard]] DatasetSpec resolve_dataset_spec(const Config& recipe, const std::string& key,
                                               const std::string& argument, const std::string& option);

}  // namespace studio
