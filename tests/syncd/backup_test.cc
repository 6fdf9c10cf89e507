// `syncd admin backup` and `syncd restore` as functions (syncd/src/admin/backup.h): what the
// file holds, where the keys go and with which modes, and what is refused before the data dir
// is touched. The commands end to end, with a serving syncd and a device:
// tests/integration/backup_test.cc.
#include "admin/backup.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "admin/verify.h"
#include "test_util.h"
#include "vigil/sqlite/db.h"

namespace vigil::syncd::testing {
namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A data dir made by InitDataDir with one device and one batch.
struct Source {
  TempDir dir;
  DataDir data{dir.path() + "/data"};
  Source() { REQUIRE(InitDataDir(data, InitOptions{"backup-test", "", "", ""}).ok()); }
};

TEST_CASE("backup: one 0600 file with the store and keys, and a restore puts both back") {
  Source source;
  const std::string file = source.dir.path() + "/set.backup";
  Result<BackupResult> backup = TakeBackup(source.data, file);
  REQUIRE_MESSAGE(backup.ok(), backup.status().ToString());
  CHECK(ModeOf(file) == 0600);
  CHECK_FALSE(std::filesystem::exists(file + "-wal"));  // Self-contained.
  CHECK(BackupText(*backup).find("sha256: ") != std::string::npos);

  DataDir target(source.dir.path() + "/restored");
  Result<RestoreResult> restored = RestoreBackup(target, file, false);
  REQUIRE_MESSAGE(restored.ok(), restored.status().ToString());
  CHECK(restored->server_id == "backup-test");
  CHECK(restored->kept_aside.empty());
  CHECK(Slurp(target.receipt_key()) == Slurp(source.data.receipt_key()));
  CHECK(Slurp(target.tls_cert()) == Slurp(source.data.tls_cert()));
  CHECK(Slurp(target.tls_key()) == Slurp(source.data.tls_key()));
  CHECK(ModeOf(target.receipt_key()) == 0600);
  CHECK(ModeOf(target.tls_key()) == 0600);
  CHECK(ModeOf(target.db()) == 0600);
  {
    sqlite::Db db =
        sqlite::Db::Open(target.db(), {.create = false, .busy_timeout_ms = 5000}).value();
    sqlite::Statement keys(db.get(),
                           "SELECT count(*) FROM sqlite_master WHERE name = 'backup_files'");
    REQUIRE(keys.Step().value());
    CHECK(keys.Int(0) == 0);  // The keys live as files only.
    sqlite::Statement self(db.get(), "SELECT count(*) FROM backups");
    REQUIRE(self.Step().value());
    CHECK(self.Int(0) == 1);  // The restored store knows the backup it came from.
    sqlite::Statement audit(db.get(), "SELECT count(*) FROM audit_log WHERE action = 'restore'");
    REQUIRE(audit.Step().value());
    CHECK(audit.Int(0) == 1);
  }
  Result<VerifyReport> report = VerifyStore(target.db(), {});
  REQUIRE(report.ok());
  CHECK(report->ok());

  // Again over it: refused without --force; with it, the old store is kept aside.
  Result<RestoreResult> refused = RestoreBackup(target, file, false);
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
  CHECK(refused.status().message().find("already holds a store") != std::string::npos);
  Result<RestoreResult> forced = RestoreBackup(target, file, true);
  REQUIRE_MESSAGE(forced.ok(), forced.status().ToString());
  CHECK(std::filesystem::exists(target.db() + "." + forced->kept_aside));
  CHECK(std::filesystem::exists(target.receipt_key() + "." + forced->kept_aside));
}

TEST_CASE("restore: a damaged or foreign file is refused and the data dir stays empty") {
  Source source;
  const std::string garbage = source.dir.path() + "/garbage";
  std::ofstream(garbage) << std::string(8192, 'x');
  DataDir target(source.dir.path() + "/target");
  Result<RestoreResult> damaged = RestoreBackup(target, garbage, false);
  CHECK(damaged.status().code() == StatusCode::kDataLoss);
  CHECK_FALSE(std::filesystem::exists(target.db()));
  CHECK_FALSE(std::filesystem::exists(target.receipt_key()));

  // A store that is not a backup (no key files inside): refused.
  Result<RestoreResult> foreign = RestoreBackup(target, source.data.db(), false);
  CHECK(foreign.status().code() == StatusCode::kDataLoss);
  CHECK(foreign.status().message().find("not a backup") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(target.db()));

  Result<RestoreResult> missing = RestoreBackup(target, source.dir.path() + "/none", false);
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK_FALSE(TakeBackup(DataDir(source.dir.path() + "/nothing"), garbage + "2").ok());
}

}  // namespace
}  // namespace vigil::syncd::testing
