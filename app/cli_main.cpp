// studio-cli: every job the GUI does, headless. Each subcommand lives in app/cli/<name>_command.cpp
// and registers itself through commands.h.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/progress.h"

int main(int argc, char** argv) {
  CLI::App app{"studio-cli: datasets, training, evaluation and export for the studio, headless"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "studio-cli 0.1.0");
  studio::cli::CommandList commands;
  studio::cli::register_all(app, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (auto& c : commands) {
    if (!c.sub->parsed()) continue;
    try {
      return c.run();
    } catch (const studio::Error& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 2;
    } catch (const studio::Cancelled&) {
      std::cerr << "cancelled\n";
      return 130;
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 2;
    }
  }
  return 2;
}
