// studio-cli convert <dataset> --to-coco out.json: any of the three formats to COCO JSON.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/dataset_options.h"
#include "common/error.h"
#include "data/coco_io.h"

namespace studio::cli {

namespace fs = std::filesystem;

void add_convert_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("convert", "Convert a dataset (COCO, VOC, TXT) to COCO JSON");
  auto opts = std::make_shared<DatasetOptions>();
  auto to = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  opts->add_to(sub);
  sub->add_option("--to-coco", *to, "Output COCO JSON file")->required();
  sub->add_flag("--force", *force, "Overwrite the output file if it exists");
  out.push_back({sub, [opts, to, force]() {
    const DatasetSpec spec = opts->spec();
    std::error_code ec;
    if (!spec.annotations.empty() && fs::exists(*to, ec) && fs::equivalent(*to, spec.annotations, ec))
      throw Error(*to + ": is the input annotation file; choose another output path");
    if (fs::exists(*to, ec) && !*force) throw Error(*to + ": exists; pass --force to overwrite it");
    const Dataset ds = load_dataset(spec, terminal_progress());
    write_coco(ds, *to);
    std::cout << "wrote " << *to << ": " << ds.images.size() << " images, " << ds.categories.size()
              << " categories, " << ds.annotations.size() << " annotations\n"
              << "image file names are relative to: " << (ds.image_root.empty() ? "." : ds.image_root) << "\n";
    return 0;
  }});
}

}  // namespace studio::cli
