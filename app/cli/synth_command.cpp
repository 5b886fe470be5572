// studio-cli synth --out DIR --images N --seed S [--size PX] [--format coco|voc|txt [--split NAME]]:
// the shapes dataset, as COCO JSON (with masks), a VOC folder or a TXT list (boxes).
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/dataset_options.h"
#include "common/error.h"
#include "data/shapes_generator.h"

namespace studio::cli {

namespace fs = std::filesystem;

void add_synth_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("synth", "Generate a set of coloured shapes (COCO with masks, or a VOC folder or TXT list)");
  auto options = std::make_shared<ShapesOptions>();
  auto force = std::make_shared<bool>(false);
  sub->add_option("--out", options->out_dir, "Output folder (images/ and annotations.json)")->required();
  sub->add_option("--images", options->images, "Number of images")->capture_default_str();
  sub->add_option("--seed", options->seed, "Random seed")->capture_default_str();
  sub->add_option("--size", options->size, "Image width and height in pixels")->capture_default_str();
  sub->add_option("--max-objects", options->max_objects, "Most shapes in one image")->capture_default_str();
  const std::map<std::string, ShapesFormat> formats{
      {"coco", ShapesFormat::Coco}, {"voc", ShapesFormat::Voc}, {"txt", ShapesFormat::Txt}};
  sub->add_option("--format", options->format,
                  "coco: images/ + annotations.json; voc: JPEGImages/, Annotations/, ImageSets/Main/SPLIT.txt, "
                  "names.txt; txt: images/, SPLIT.txt, names.txt")
      ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case))
      ->default_str("coco");
  sub->add_option("--split", options->split, "VOC split / TXT list name (voc, txt)")->capture_default_str();
  sub->add_flag("--force", *force, "Write into a folder that is not empty");
  out.push_back({sub, [options, force]() {
    std::error_code ec;
    if (fs::exists(options->out_dir, ec) && !fs::is_empty(options->out_dir, ec) && !*force)
      throw Error(options->out_dir + ": folder is not empty; pass --force to write into it");
    const Dataset ds = generate_shapes(*options, terminal_progress());
    const std::string& o = options->out_dir;
    const std::string& split = options->split;
    std::string token;
    switch (options->format) {
      case ShapesFormat::Coco: token = "coco:" + o + "/annotations.json:" + o + "/images"; break;
      case ShapesFormat::Voc: token = "--voc " + o + " --split " + split + " --names " + o + "/names.txt"; break;
      case ShapesFormat::Txt: token = "txt:" + o + "/" + split + ".txt:" + o + "/images:" + o + "/names.txt"; break;
    }
    std::cout << "wrote " << ds.images.size() << " images and " << ds.annotations.size() << " annotations to " << o
              << "; read it as " << token << "\n";
    return 0;
  }});
}

}  // namespace studio::cli
