// Client::PurgeAcknowledged (client-core/src/sync/sync_engine.cc, NOTES 7 in
// sync/sync_context.h): a batch is erased only when its receipt is older than the wait AND
// the server confirmed it keeps it: at most backed_up_seq once the server has backups, at most
// server_last_seq before that, nothing before any pull. The server's answers are set in the
// store's meta table directly, as sync::Apply (sync/apply.cc) leaves them; end to end against
// a real syncd: tests/integration/backup_test.cc.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <chrono>
#include <string>
#include <vector>

#include "client_test_support.h"

namespace vigil::client::test {
namespace {

constexpr char kServerId[] = "deploy-purge";

// Runs SQL on the device's store through a second connection.
void Exec(const TempDir& dir, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir / "home/vigil.db").c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << message);
}

// Seqs of the batches whose bytes are erased.
std::vector<int64_t> Purged(const TempDir& dir) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir / "home/vigil.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT seq FROM batches WHERE length(sealed) = 0 ORDER BY seq",
                             -1, &st, nullptr) == SQLITE_OK);
  std::vector<int64_t> seqs;
  while (sqlite3_step(st) == SQLITE_ROW) seqs.push_back(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return seqs;
}

void SetMeta(const TempDir& dir, const std::string& key, const std::string& value) {
  Exec(dir, "INSERT OR REPLACE INTO meta(key, value) VALUES ('" + key + "', CAST('" + value +
                "' AS BLOB))");
}

TEST_CASE("purge: never past what the server confirmed, never past the newest backup") {
  TempDir dir;
  InitOptions options;
  options.server_id = kServerId;
  options.max_records_per_batch = 1;
  auto c = InitClient(dir / "home", options);
  REQUIRE(c->ImportForm(SmallChecklist()).ok());
  for (int i = 1; i <= 4; ++i) {
    auto d = c->StartDraft("small", "12-03-07-0452");
    REQUIRE(d.ok());
    REQUIRE(c->SetAnswer(*d, "q1_sealed", Bool(true)).ok());
    REQUIRE(c->SetAnswer(*d, "q3_count", Int(i)).ok());
    REQUIRE(c->Finalize(*d).ok());
  }
  REQUIRE(*c->SealOutbox() == 4);
  // Batches 1-4 acknowledged with receipts from long ago (past any purge wait).
  Exec(dir,
       "UPDATE batches SET state = 1; UPDATE records SET state = 3 WHERE state = 2; "
       "INSERT INTO receipts(batch_seq, receipt, received_at) SELECT seq, x'00', 1 FROM batches");
  const std::chrono::milliseconds past_any_wait{0};

  // No pull answer yet: the server confirmed nothing, nothing goes.
  CHECK(*c->PurgeAcknowledged(past_any_wait) == 0);
  CHECK(Purged(dir).empty());

  // No backup yet, the server holds batch 1 only (e.g. restored since): only batch 1.
  SetMeta(dir, "backups_taken", "0");
  SetMeta(dir, "server_last_seq", "1");
  CHECK(*c->PurgeAcknowledged(past_any_wait) == 1);
  CHECK(Purged(dir) == std::vector<int64_t>{1});

  // Backups run: the server holds all four, the newest backup has batches through 3.
  SetMeta(dir, "backups_taken", "1");
  SetMeta(dir, "backed_up_seq", "3");
  SetMeta(dir, "server_last_seq", "4");
  CHECK(*c->PurgeAcknowledged(past_any_wait) == 2);
  CHECK(Purged(dir) == std::vector<int64_t>{1, 2, 3});

  // A backup holds batch 4 too, but its receipt is fresh: the 24 h wait still applies.
  SetMeta(dir, "backed_up_seq", "4");
  Exec(dir, "UPDATE receipts SET received_at = strftime('%s', 'now') * 1000 WHERE batch_seq = 4");
  CHECK(*c->PurgeAcknowledged(std::chrono::hours(24)) == 0);
  CHECK(Purged(dir) == std::vector<int64_t>{1, 2, 3});
  CHECK(*c->PurgeAcknowledged(past_any_wait) == 1);
  CHECK(Purged(dir) == std::vector<int64_t>{1, 2, 3, 4});

  // A meta value that is not a number is a clear error, not a guess.
  SetMeta(dir, "backed_up_seq", "x7");
  auto bad = c->PurgeAcknowledged(past_any_wait);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kDataLoss);
  CHECK(Contains(bad.status().message(), "backed_up_seq"));
}

}  // namespace
}  // namespace vigil::client::test
