// studio-cli synth --out DIR --images N --seed S [--size PX]: the shapes dataset.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/dataset_options.h"
#include "common/error.h"
#include "data/shapes_generator.h"

namespace studio::cli {

namespace fs = std::filesystem;

void add_synth_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("synth", "Generate a COCO instance-segmentation set of coloured shapes");
  auto options = std::make_shared<ShapesOptions>();
  auto force = std::make_shared<bool>(false);
  sub->add_option("--out", options->out_dir, "Output folder (images/ and annotations.json)")->required();
  sub->add_option("--images", options->images, "Number of images")->capture_default_str();
  sub->add_option("--seed", options->seed, "Random seed")->capture_default_str();
  sub->add_option("--size", options->size, "Image width and height in pixels")->capture_default_str();
  sub->add_option("--max-objects", options->max_objects, "Most shapes in one image")->capture_default_str();
  sub->add_flag("--force", *force, "Write into a folder that is not empty");
  out.push_back({sub, [options, force]() {
    std::error_code ec;
    if (fs::exists(options->out_dir, ec) && !fs::is_empty(options->out_dir, ec) && !*force)
      throw Error(options->out_dir + ": folder is not empty; pass --force to write into it");
    const Dataset ds = generate_shapes(*options, terminal_progress());
    std::cout << "wrote " << ds.images.size() << " images and " << ds.annotations.size()
              << " annotations to " << options->out_dir << " (annotations.json, images/)\n";
    return 0;
  }});
}

}  // namespace studio::cli
