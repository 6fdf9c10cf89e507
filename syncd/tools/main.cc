// `syncd`: init, serve and admin subcommands. Thin: builds the command line from the groups
// of subcommands (cmd_*.cc), parses it and runs the one given; those call syncd_core.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "cli.h"
#include "vigil/run_main.h"

namespace vigil::syncd::cli {
namespace {

// The command line (main() runs it under vigil::RunMain).
int Main(int argc, char** argv) {
  CLI::App app{"syncd: the Vigil central daemon"};
  app.require_subcommand(1);
  Commands commands;

  // `--data DIR` goes before the subcommand or after it, at any level (AddDataOption).
  std::string data;
  CLI::Option* global = app.add_option(
      "--data", data, "data directory (also accepted after the subcommand, at any level)");

  AddInitCommand(app, commands, data, global);
  AddServeCommand(app, commands, data, global);

  CLI::App* admin = app.add_subcommand("admin", "manage the data dir (also while serving)");
  admin->require_subcommand(1);
  admin->fallthrough();  // `--data DIR` also after the subcommand (inherited by them).
  AddDataOption(admin, data, global);
  AddBackupCommand(*admin, commands);
  AddSetupCommands(*admin, commands);
  AddAccessCommands(*admin, commands);
  AddServerUrlCommands(*admin, commands);
  AddStationDistanceCommands(*admin, commands);
  AddReportCommands(*admin, commands);
  AddCheckCommands(*admin, commands);

  AddRestoreCommand(app, commands, data, global);

  CLI11_PARSE(app, argc, argv);

  try {
    return commands.RunGiven(data);
  } catch (const std::exception& e) {
    std::cerr << "syncd: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace
}  // namespace vigil::syncd::cli

int main(int argc, char** argv) {
  return vigil::RunMain("syncd", [&] { return vigil::syncd::cli::Main(argc, argv); });
}
