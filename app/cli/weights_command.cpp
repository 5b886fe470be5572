// studio-cli weights import FILE.pth --arch resnet50 [--out FILE] [--force]: reads a PyTorch state
// dict (torchvision's ImageNet file or any torch.save'd state dict), maps it onto the backbone and
// prints what matched; --out saves the backbone's weights for a recipe's model.backbone.pretrained.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "modeling/backbone/backbone.h"
#include "modeling/weights/pth_file.h"
#include "modeling/weights/weight_import.h"

namespace studio::cli {

namespace {

struct ImportArgs {
  std::string file;
  std::string arch;
  std::string out;
  bool force = false;
};

void print_keys(const char* title, const std::vector<std::string>& keys) {
  std::cout << title << ": " << keys.size() << "\n";
  for (const auto& k : keys) std::cout << "  " << k << "\n";
}

int run_import(const ImportArgs& a) {
  namespace fs = std::filesystem;
  if (!a.out.empty() && fs::exists(a.out) && !a.force)
    throw Error(a.out + ": already exists (pass --force to overwrite)");
  BackboneOptions options;
  options.type = a.arch;
  options.frozen_stages = -1;
  std::shared_ptr<Backbone> backbone = build_backbone(options);
  const StateDictEntries entries = read_pth(a.file);
  const ImportReport report = import_entries(*backbone, entries, a.arch);

  std::cout << a.file << ": " << entries.size() << " tensors, architecture " << a.arch << "\n";
  std::cout << "matched: " << report.matched.size() << "\n";
  print_keys("missing", report.missing);
  print_keys("unexpected", report.unexpected);
  print_keys("shape mismatches", report.shape_mismatch);
  std::cout << "dropped (not part of the backbone: classifier, num_batches_tracked): "
            << report.dropped.size() << "\n";

  if (!a.out.empty()) {
    if (!report.ok() && !a.force) {
      std::cerr << "not writing " << a.out
                << ": keys are missing or mis-shaped (pass --force to write anyway)\n";
    } else {
      const fs::path parent = fs::path(a.out).parent_path();
      if (!parent.empty()) fs::create_directories(parent);
      write_pth(a.out, module_entries(*backbone));
      std::cout << "wrote " << a.out << "\n";
    }
  }
  return report.ok() ? 0 : 1;
}

}  // namespace

void add_weights_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("weights", "Import pretrained weights from PyTorch .pth files");
  sub->require_subcommand(1);
  auto* imp = sub->add_subcommand("import",
                                  "Map a PyTorch state dict onto a backbone and report the keys; exit 1 "
                                  "when a key is missing or has the wrong shape");
  auto args = std::make_shared<ImportArgs>();
  imp->add_option("file", args->file, "The .pth/.pt state dict (zip format or legacy)")->required();
  imp->add_option("--arch", args->arch, "Backbone architecture")
      ->required()
      ->check(CLI::IsMember(import_archs()));
  imp->add_option("--out", args->out,
                  "Save the backbone's weights here (a .pth for model.backbone.pretrained)");
  imp->add_flag("--force", args->force, "Overwrite --out, and write it even when keys are missing");
  out.push_back({sub, [args]() { return run_import(*args); }});
}

}  // namespace studio::cli
