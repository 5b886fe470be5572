#pragma once
// Subcommands of studio-cli. Each add_* function declares its options on a new subcommand and
// appends the function that runs it; the function returns the process exit code.
#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace studio::cli {

struct Command {
  CLI::App* sub = nullptr;
  std::function<int()> run;
};
using CommandList = std::vector<Command>;

void add_convert_command(CLI::App& app, CommandList& out);
void add_check_command(CLI::App& app, CommandList& out);
void add_stats_command(CLI::App& app, CommandList& out);
void add_synth_command(CLI::App& app, CommandList& out);
void add_eval_command(CLI::App& app, CommandList& out);
void add_export_table_command(CLI::App& app, CommandList& out);
void add_weights_command(CLI::App& app, CommandList& out);
void add_train_command(CLI::App& app, CommandList& out);
void add_infer_command(CLI::App& app, CommandList& out);
void add_devices_command(CLI::App& app, CommandList& out);
void add_model_command(CLI::App& app, CommandList& out);

inline void register_all(CLI::App& app, CommandList& out) {
  add_convert_command(app, out);
  add_check_command(app, out);
  add_stats_command(app, out);
  add_synth_command(app, out);
  add_eval_command(app, out);
  add_export_table_command(app, out);
  add_weights_command(app, out);
  add_train_command(app, out);
  add_infer_command(app, out);
  add_devices_command(app, out);
  add_model_command(app, out);
}

}  // namespace studio::cli
