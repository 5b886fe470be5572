// studio-cli: every job the GUI does, headless. Each subcommand lives in app/cli/<name>_command.cpp
// and registers itself through commands.h.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "common/error.h"
#include "common/progress.h"

namespace {

// One line to stderr in one write: the workers of `train --nproc` share their launcher's stderr,
// and an error printed piece by piece interleaves with the other ranks' ("error: error: rank 1: ...").
void print_line(const std::string& text) {
  const std::string line = text + "\n";
  std::fflush(stderr);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

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
      print_line("error: " + std::string(e.what()));
      return 2;
    } catch (const studio::Cancelled&) {
      std::cerr << "cancelled\n";
      return 130;
    } catch (const std::exception& e) {
      print_line("error: " + std::string(e.what()));
      return 2;
    }
  }
  return 2;
}
