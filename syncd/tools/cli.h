// What `syncd`'s subcommands share: the registry that runs the one given, the `--data`
// option, and how answers and errors are printed. Each cmd_*.cc adds one group of
// subcommands; main.cc builds the command line from them.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "admin/admin.h"
#include "admin/data_dir.h"
#include "vigil/status.h"

namespace vigil::syncd::cli {

// The data directory every subcommand works on (`--data DIR`).
struct DataFlags {
  std::string data;
};

// A subcommand's `--json`: JSON instead of text for people.
struct JsonFlags : DataFlags {
  bool json = false;
};

// Exit status for a failed Status, printed as "syncd: message": 2 for an invalid argument,
// else 1; 0 for OK.
int Report(const Status& status);

// The subcommands to run, each with the function that runs it once the command line is parsed.
class Commands {
 public:
  // Runs `run(*flags)` when `command` is the subcommand given; `flags.data` is set first.
  // `Flags` derives from DataFlags.
  template <typename Flags>
  void Add(CLI::App* command, std::shared_ptr<Flags> flags, int (*run)(const Flags&)) {
    entries_.push_back({command, [flags = std::move(flags), run](const std::string& data) {
                          flags->data = data;
                          return run(*flags);
                        }});
  }

  // Likewise, `run(store, *flags)` on the store in `flags.data`, opened first.
  template <typename Flags>
  void AddOnStore(CLI::App* command, std::shared_ptr<Flags> flags,
                  int (*run)(SqlStore&, const Flags&)) {
    entries_.push_back({command, [flags = std::move(flags), run](const std::string& data) {
                          Result<std::unique_ptr<SqlStore>> store = OpenStore(DataDir(data));
                          if (!store.ok()) return Report(store.status());
                          flags->data = data;
                          return run(**store, *flags);
                        }});
  }

  // Runs the subcommand given (the innermost one when a parent runs too, as `quarantine`
  // does without `release`) on `data`; its exit status, or 0 when none was given.
  [[nodiscard]] int RunGiven(const std::string& data) const;

 private:
  struct Entry {
    CLI::App* command;
    std::function<int(const std::string& data)> run;
  };
  std::vector<Entry> entries_;
};

// The `--data DIR` option of a subcommand given straight after `syncd` (init, serve, admin,
// restore), bound to `data` and required. The program's own `--data` (`global`, bound to the
// same string) given before the subcommand counts as the subcommand's; after it the subcommand
// takes it, and its own subcommands pass it up (CLI11's fallthrough).
CLI::Option* AddDataOption(CLI::App* command, std::string& data, CLI::Option* global);

// Prints `message` as JSON and a newline; the exit status.
int PrintJson(const google::protobuf::Message& message);

// Prints an answer as JSON or as text for people; the exit status.
template <typename M>
int Print(const Result<M>& answer, bool json, std::string (*text)(const M&)) {
  if (!answer.ok()) return Report(answer.status());
  if (json) return PrintJson(*answer);
  std::cout << text(*answer);
  return 0;
}

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> SplitComma(const std::string& text);

// The groups of subcommands, each in its own file. `data` and `global` as in AddDataOption.
void AddInitCommand(CLI::App& app, Commands& commands, std::string& data, CLI::Option* global);
void AddServeCommand(CLI::App& app, Commands& commands, std::string& data, CLI::Option* global);
void AddRestoreCommand(CLI::App& app, Commands& commands, std::string& data, CLI::Option* global);
// Under `syncd admin`:
void AddBackupCommand(CLI::App& admin, Commands& commands);
void AddSetupCommands(CLI::App& admin, Commands& commands);            // stations, forms, observers
void AddAccessCommands(CLI::App& admin, Commands& commands);           // enroll-code, devices, …
void AddServerUrlCommands(CLI::App& admin, Commands& commands);        // server-urls
void AddStationDistanceCommands(CLI::App& admin, Commands& commands);  // station-distance
void AddReportCommands(CLI::App& admin, Commands& commands);  // stats, export, coverage, …
void AddCheckCommands(CLI::App& admin, Commands& commands);   // quarantine, alerts, verify, …

}  // namespace vigil::syncd::cli
