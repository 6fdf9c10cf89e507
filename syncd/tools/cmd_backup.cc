// `syncd admin backup` and `syncd restore` (docs/operations.md §9, admin/backup.h).
#include <iostream>
#include <memory>
#include <string>

#include "admin/backup.h"
#include "admin/data_dir.h"
#include "cli.h"

namespace vigil::syncd::cli {
namespace {

struct BackupFlags : DataFlags {
  std::string out;
};

int RunBackup(const BackupFlags& flags) {
  Result<BackupResult> written = TakeBackup(DataDir(flags.data), flags.out);
  if (!written.ok()) return Report(written.status());
  std::cout << BackupText(*written);
  return 0;
}

struct RestoreFlags : DataFlags {
  std::string from;
  bool force = false;
};

int RunRestore(const RestoreFlags& flags) {
  Result<RestoreResult> restored = RestoreBackup(DataDir(flags.data), flags.from, flags.force);
  if (!restored.ok()) return Report(restored.status());
  std::cout << RestoreText(DataDir(flags.data), *restored);
  return 0;
}

}  // namespace

void AddBackupCommand(CLI::App& admin, Commands& commands) {
  auto flags = std::make_shared<BackupFlags>();
  CLI::App* backup = admin.add_subcommand(
      "backup", "consistent online backup of the store and keys into one file (mode 0600)");
  backup->add_option("--out", flags->out, "the backup file to write (must not exist)")->required();
  commands.Add(backup, flags, RunBackup);
}

void AddRestoreCommand(CLI::App& app, Commands& commands, std::string& data, CLI::Option* global) {
  auto flags = std::make_shared<RestoreFlags>();
  CLI::App* restore = app.add_subcommand(
      "restore", "put a backup file back into a data dir while syncd serve is stopped");
  AddDataOption(restore, data, global);
  restore->add_option("--from", flags->from, "backup file from `syncd admin backup`")->required();
  restore->add_flag("--force", flags->force,
                    "restore over an existing store, keeping it aside as "
                    "syncd.db.before-restore-<time>");
  commands.Add(restore, flags, RunRestore);
}

}  // namespace vigil::syncd::cli
