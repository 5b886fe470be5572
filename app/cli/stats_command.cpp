// studio-cli stats <dataset> [--json]: counts per class, COCO size buckets, box distributions.
#include <iostream>

#include "cli/commands.h"
#include "cli/dataset_options.h"
#include "data/stats.h"

namespace studio::cli {

void add_stats_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("stats", "Print dataset statistics");
  auto opts = std::make_shared<DatasetOptions>();
  auto json = std::make_shared<bool>(false);
  opts->add_to(sub);
  sub->add_flag("--json", *json, "Print JSON instead of a table");
  out.push_back({sub, [opts, json]() {
    const DatasetStats stats = compute_stats(opts->load());
    std::cout << (*json ? stats_to_json(stats) : stats_to_text(stats));
    if (*json) std::cout << "\n";
    return 0;
  }});
}

}  // namespace studio::cli
