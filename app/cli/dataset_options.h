#pragma once
// The dataset options every subcommand shares:
//   --coco ann.json --images DIR | --voc ROOT[,ROOT...] --split S | --txt list.txt --images DIR
//   [--names names.txt] | a positional token (coco:..., voc:..., txt:..., or a dataset YAML).
#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "common/progress.h"
#include "data/dataset_spec.h"

namespace studio::cli {

class DatasetOptions {
 public:
  // Adds the options to `sub`; `positional` names the positional token's slot ("dataset").
  void add_to(CLI::App* sub, const std::string& positional = "dataset");
  // The spec the user gave; throws studio::Error when none or several were given.
  [[nodiscard]] DatasetSpec spec() const;
  // Reads the dataset, printing progress to stderr when it is a terminal.
  [[nodiscard]] Dataset load() const;

 private:
  std::string token_, coco_, images_, voc_, split_ = "trainval", txt_, names_, voc_classes_ = "standard";
};

// A Progress that prints "stage: done/total" on one updating line of stderr (only on a terminal,
// or every 10% otherwise, so logs stay short).
[[nodiscard]] Progress terminal_progress();

}  // namespace studio::cli
