// studio-cli export-table RUN_OR_METRICS... --format csv|md|tex|json [--out FILE]: one row per run
// (a run folder's newest metrics, or a metrics JSON), for papers, READMEs and spreadsheets.
#include <iostream>

#include "cli/commands.h"
#include "common/atomic_file.h"
#include "eval/metrics_file.h"

namespace studio::cli {

void add_export_table_command(CLI::App& app, CommandList& out) {
  auto* sub =
      app.add_subcommand("export-table", "Tabulate the metrics of runs as CSV, Markdown, LaTeX or JSON");
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>("md");
  auto out_file = std::make_shared<std::string>();
  sub->add_option("runs", *inputs, "Run folders (runs/<name>) or metrics JSON files")->required();
  sub->add_option("--format", *format, "csv, md, tex or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"csv", "md", "tex", "json"}));
  sub->add_option("--out", *out_file, "Write the table to this file instead of standard output");
  out.push_back({sub, [inputs, format, out_file]() {
                   const TableFormat f = parse_table_format(*format);
                   std::vector<MetricsFile> runs;
                   for (const auto& path : *inputs) runs.push_back(read_metrics(path));
                   const std::string table = export_table(runs, f);
                   if (out_file->empty())
                     std::cout << table;
                   else
                     write_file_atomic(*out_file, table);
                   return 0;
                 }});
}

}  // namespace studio::cli
