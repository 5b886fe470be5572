// studio-cli check <dataset> [--json report.json]: exit 0 without errors, 1 with errors,
// 2 when the input can't be used.
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/dataset_options.h"
#include "common/atomic_file.h"
#include "data/checker.h"

namespace studio::cli {

void add_check_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("check", "Find mistakes in a dataset's annotations and images");
  auto opts = std::make_shared<DatasetOptions>();
  auto json = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(0);
  auto no_decode = std::make_shared<bool>(false);
  auto show = std::make_shared<int>(50);
  opts->add_to(sub);
  sub->add_option("--json", *json, "Write the findings as a JSON report to this file");
  sub->add_option("--threads", *threads, "Threads for decoding images (0: all cores)")->capture_default_str();
  sub->add_flag("--no-decode", *no_decode, "Skip opening the image files");
  sub->add_option("--show", *show, "Findings to print (the report has all)")->capture_default_str();
  out.push_back({sub, [opts, json, threads, no_decode, show]() {
    const Dataset ds = opts->load();
    CheckOptions options;
    options.threads = *threads;
    options.decode_images = !*no_decode;
    const CheckReport report = check_dataset(ds, options, terminal_progress());
    std::map<std::string, std::size_t> by_code;
    for (const auto& f : report.findings) ++by_code[f.code];
    int printed = 0;
    for (const auto& f : report.findings) {
      if (printed++ >= *show) break;
      std::cout << severity_name(f.severity) << " " << f.code;
      if (f.image_id) std::cout << " image=" << *f.image_id;
      if (f.annotation_id) std::cout << " ann=" << *f.annotation_id;
      if (!f.source.empty()) std::cout << " at " << f.source;
      std::cout << ": " << f.message << "\n";
    }
    if (int(report.findings.size()) > *show)
      std::cout << "... " << report.findings.size() - *show << " more (use --json or --show)\n";
    std::cout << "checked " << ds.images.size() << " images, " << ds.annotations.size() << " annotations: "
              << report.errors << " errors, " << report.warnings << " warnings\n";
    for (const auto& [code, n] : by_code) std::cout << "  " << code << ": " << n << "\n";
    if (!json->empty()) {
      write_file_atomic(*json, findings_to_json(report.findings));
      std::cout << "report: " << *json << "\n";
    }
    return report.errors > 0 ? 1 : 0;
  }});
}

}  // namespace studio::cli
