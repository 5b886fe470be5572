#include "cli/dataset_options.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <sstream>

#include "common/error.h"

namespace studio::cli {

void DatasetOptions::add_to(CLI::App* sub, const std::string& positional) {
  sub->add_option(positional, token_,
                  "Dataset as one token: coco:ANN.json:IMAGES_DIR, voc:ROOT[+ROOT]:SPLIT, "
                  "txt:LIST.txt:IMAGES_DIR[:NAMES.txt], or a dataset YAML file");
  sub->add_option("--coco", coco_, "COCO annotation JSON")->group("Dataset");
  sub->add_option("--images", images_, "Image folder (COCO, TXT)")->group("Dataset");
  sub->add_option("--voc", voc_, "VOCdevkit root(s), comma-separated")->group("Dataset");
  sub->add_option("--split", split_, "VOC split (ImageSets/Main/<split>.txt)")->capture_default_str()->group("Dataset");
  sub->add_option("--voc-classes", voc_classes_, "VOC classes: standard (the 20) or found")
      ->capture_default_str()
      ->check(CLI::IsMember({"standard", "found"}))
      ->group("Dataset");
  sub->add_option("--txt", txt_, "TXT list: path x1,y1,x2,y2,cls ...")->group("Dataset");
  sub->add_option("--names", names_,
                  "Class names, one a line: a TXT list's cls indexes them; VOC allows only them")
      ->group("Dataset");
}

DatasetSpec DatasetOptions::spec() const {
  const int given = int(!token_.empty()) + int(!coco_.empty()) + int(!voc_.empty()) + int(!txt_.empty());
  if (given == 0)
    throw Error("no dataset given: use --coco ANN.json --images DIR, --voc ROOT --split S, "
                "--txt LIST --images DIR, or a token such as coco:ANN.json:IMAGES_DIR");
  if (given > 1) throw Error("several datasets given: use only one of the token, --coco, --voc, --txt");
  if (!token_.empty()) return parse_dataset_token(token_);
  DatasetSpec spec;
  if (!coco_.empty()) {
    if (images_.empty()) throw Error("--coco needs --images DIR (the folder the file names are relative to)");
    spec.format = DatasetFormat::Coco;
    spec.annotations = coco_;
    spec.images = images_;
  } else if (!voc_.empty()) {
    spec.format = DatasetFormat::Voc;
    std::stringstream ss(voc_);
    for (std::string root; std::getline(ss, root, ',');)
      if (!root.empty()) spec.roots.push_back(root);
    spec.split = split_;
    spec.voc_standard_classes = voc_classes_ == "standard";
    spec.names = names_;
  } else {
    if (images_.empty()) throw Error("--txt needs --images DIR (the folder the paths are relative to)");
    spec.format = DatasetFormat::Txt;
    spec.annotations = txt_;
    spec.images = images_;
    spec.names = names_;
  }
  return spec;
}

Dataset DatasetOptions::load() const {
  return load_dataset(spec(), terminal_progress());
}

Progress terminal_progress() {
  struct State {
    std::mutex mutex;
    std::string stage;
    int last_decile = -1;
    std::chrono::steady_clock::time_point last_print{};
  };
  auto state = std::make_shared<State>();
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  Progress p;
  p.report = [state, tty](std::size_t done, std::size_t total, const std::string& stage) {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (stage != state->stage) {
      state->stage = stage;
      state->last_decile = -1;
    }
    const int decile = total ? int(done * 10 / total) : 10;
    const auto now = std::chrono::steady_clock::now();
    if (tty) {
      if (done != total && now - state->last_print < std::chrono::milliseconds(100)) return;
      state->last_print = now;
      std::fprintf(stderr, "\r%s: %zu/%zu", stage.c_str(), done, total);
      if (done == total) std::fputc('\n', stderr);
    } else if (decile != state->last_decile) {
      state->last_decile = decile;
      std::fprintf(stderr, "%s: %zu/%zu\n", stage.c_str(), done, total);
    }
    std::fflush(stderr);
  };
  return p;
}

}  // namespace studio::cli
