// Backup and restore without loss (docs/operations.md §9, docs/protocol.md §10.4), for real:
// `syncd admin backup` while syncd serves, more reports, syncd killed, `syncd restore`,
// syncd started again on the same port, and the device's next sync resending what the
// restored server lost, or declaring lost what it had purged.
#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "syncd_harness.h"
#include "vigil/client/answer_input.h"
#include "vigil/client/client.h"
#include "vigil/v1/admin.pb.h"

namespace vigil::testing {
namespace {

using client::Client;

// A device with one record per batch, enrolled as obs1.
struct Tablet {
  TempDir dir;
  std::unique_ptr<Client> client;
  explicit Tablet(Syncd& server) {
    auto pin = client::MakePinKeyProtector("246810", client::ScryptParams{10, 8, 1});
    client::InitOptions options;
    options.max_records_per_batch = 1;
    auto c = Client::Init(dir / "home", *pin, options);
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    client = std::move(c).value();
    v1::DeviceInfo info;
    info.set_model("backup-test");
    auto enrolled = client->Enroll(server.EnrollCode("obs1"), info, server.ca_file());
    REQUIRE_MESSAGE(enrolled.ok(), enrolled.status().ToString());
  }
  // Finalizes `n` example checklists; returns their ids.
  std::vector<std::string> Fill(int n, uint64_t seed) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      const char* form_id = (seed + i) % 2 ? "opening" : "voting";
      auto form = client->GetForm(form_id);
      REQUIRE(form.ok());
      auto draft = client->StartDraft(form_id, Syncd::kStation);
      REQUIRE(draft.ok());
      REQUIRE(client->SetAnswers(*draft, client::ExampleAnswers(*form, seed + i), true).ok());
      auto id = client->Finalize(*draft);
      REQUIRE_MESSAGE(id.ok(), id.status().ToString());
      ids.push_back(*id);
    }
    return ids;
  }
  client::SyncReport Sync(const Syncd& server) {
    client::SyncOptions o;
    o.ca_file = server.ca_file();
    o.max_attempts = 3;
    o.base_delay = std::chrono::milliseconds(10);
    o.max_delay = std::chrono::milliseconds(50);
    auto report = client->Sync(o);
    REQUIRE_MESSAGE(report.ok(), report.status().ToString());
    return *report;
  }
};

// One integer from the server's store (read through its own connection).
int64_t ServerInt(Syncd& server, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(server.data_path("syncd.db").c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK, sql);
  int64_t value = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return value;
}

// How many times each id appears in the submissions export: every one exactly `times`.
void CheckExported(Syncd& server, const std::vector<std::string>& ids, size_t times) {
  std::string csv = server.Admin("export submissions --csv");
  for (const std::string& id : ids) {
    size_t n = 0;
    for (size_t at = csv.find(id); at != std::string::npos; at = csv.find(id, at + 1)) ++n;
    CHECK_MESSAGE(n == times, id << " appears " << n << " times");
  }
}

std::string Backup(Syncd& server, const std::string& name) {
  std::string file = server.path(name);
  std::string out = server.Admin("backup --out " + file);
  CHECK(out.find("backup: " + file) != std::string::npos);
  struct stat st {};
  REQUIRE(stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  return file;
}

// Kills syncd, restores `file` over its data dir and serves again on the same port.
void RestartFrom(Syncd& server, const std::string& file) {
  const int port = server.port();
  server.Kill();
  std::string out;
  int rc =
      Shell(std::string(SYNCD_PATH) + " restore --data " + server.data() + " --from " + file, &out);
  CHECK(rc != 0);  // The data dir holds a store: only with --force.
  CHECK(out.find("already holds a store") != std::string::npos);
  rc = Shell(
      std::string(SYNCD_PATH) + " restore --data " + server.data() + " --from " + file + " --force",
      &out);
  REQUIRE_MESSAGE(rc == 0, out);
  CHECK(out.find("kept aside") != std::string::npos);
  server.Serve(port);
}

void CheckVerifyOk(Syncd& server, const std::string& expect_also = "") {
  std::string out = server.Admin("verify");
  CHECK(out.find("verify: ok") != std::string::npos);
  if (!expect_also.empty()) CHECK_MESSAGE(out.find(expect_also) != std::string::npos, out);
}

TEST_CASE("backup while serving, restore, sync: every report present once, verify ok") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Tablet tablet(server);
  std::vector<std::string> ids = tablet.Fill(2, 1);
  CHECK(tablet.Sync(server).backed_up_seq == 0);  // No backup yet.

  const std::string file = Backup(server, "first.vigil-backup");
  // A restore while serve runs on the data dir is refused.
  std::string out;
  CHECK(Shell(std::string(SYNCD_PATH) + " restore --data " + server.data() + " --from " + file +
                  " --force",
              &out) != 0);
  CHECK(out.find("syncd serve is running") != std::string::npos);

  for (const std::string& id : tablet.Fill(2, 3)) ids.push_back(id);
  client::SyncReport after_backup = tablet.Sync(server);
  CHECK(after_backup.batches_sent == 2);
  CHECK(after_backup.server_last_seq == 4);
  CHECK(after_backup.backed_up_seq == 2);  // The backup holds batches 1-2 of this device.

  RestartFrom(server, file);
  CHECK(ServerInt(server, "SELECT last_seq FROM devices") == 2);
  // Nothing pending on the tablet: its pull says it holds receipts through 4, and the answer
  // asks for batches 3-4 again.
  client::SyncReport resync = tablet.Sync(server);
  CHECK(resync.batches_resent == 2);
  CHECK(resync.lost_batches.empty());
  CHECK(resync.server_last_seq == 4);
  CHECK(ServerInt(server, "SELECT count(*) FROM alerts WHERE kind = 'RESEND_REQUESTED'") == 1);

  for (const std::string& id : tablet.Fill(1, 5)) ids.push_back(id);
  client::SyncReport next = tablet.Sync(server);
  CHECK(next.batches_sent == 1);
  CHECK(next.batches_resent == 0);
  CheckExported(server, ids, 1);
  CHECK(ServerInt(server, "SELECT count(*) FROM records") == 5);
  auto receipts = tablet.client->VerifyReceipts();
  CHECK(receipts->verified == 5);
  CHECK(receipts->failures.empty());
  CheckVerifyOk(server);
}

TEST_CASE("purge clock past 24 h: the device keeps what no backup holds, and resends it") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Tablet tablet(server);
  std::vector<std::string> ids = tablet.Fill(2, 11);
  tablet.Sync(server);
  const std::string file = Backup(server, "daily.vigil-backup");
  for (const std::string& id : tablet.Fill(2, 13)) ids.push_back(id);
  tablet.Sync(server);
  // The purge wait is over for every receipt: only batches 1-2 (in the backup) go.
  CHECK(*tablet.client->PurgeAcknowledged(std::chrono::milliseconds(0)) == 2);

  RestartFrom(server, file);
  // A new report first: its push meets SEQUENCE_GAP (the server expects batch 3) and the
  // tablet resends 3-4, still held, then 5 (the push-side resend of note 4).
  for (const std::string& id : tablet.Fill(1, 15)) ids.push_back(id);
  client::SyncReport resync = tablet.Sync(server);
  CHECK(resync.batches_sent == 3);
  CHECK(resync.lost_batches.empty());
  CHECK(resync.server_last_seq == 5);
  CheckExported(server, ids, 1);
  CHECK(ServerInt(server, "SELECT count(*) FROM chain_gaps") == 0);
  CheckVerifyOk(server);
}

TEST_CASE("restored from an older backup: purged batches are declared lost, later ones accepted") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Tablet tablet(server);
  std::vector<std::string> kept = tablet.Fill(2, 21);  // batches 1-2
  tablet.Sync(server);
  const std::string older = Backup(server, "older.vigil-backup");
  std::vector<std::string> lost = tablet.Fill(2, 23);  // batches 3-4
  tablet.Sync(server);
  Backup(server, "newer.vigil-backup");  // holds 1-4, then is lost with the machine
  for (const std::string& id : tablet.Fill(1, 25)) kept.push_back(id);  // batch 5
  CHECK(tablet.Sync(server).backed_up_seq == 4);
  CHECK(*tablet.client->PurgeAcknowledged(std::chrono::milliseconds(0)) == 4);

  RestartFrom(server, older);
  client::SyncReport resync = tablet.Sync(server);
  CHECK(resync.lost_batches == std::vector<std::string>{"3..4"});
  CHECK(resync.batches_resent == 1);  // batch 5, still held
  CHECK(ServerInt(server, "SELECT count(*) FROM chain_gaps WHERE from_seq = 3 AND to_seq = 4") ==
        1);
  CHECK(ServerInt(server, "SELECT count(*) FROM alerts WHERE kind = 'CHAIN_GAP'") == 1);

  // The chain goes on: a later report is accepted.
  for (const std::string& id : tablet.Fill(1, 27)) kept.push_back(id);  // batch 6
  client::SyncReport later = tablet.Sync(server);
  CHECK(later.batches_sent == 1);
  CHECK(later.server_last_seq == 6);
  CheckExported(server, kept, 1);
  CheckExported(server, lost, 0);
  CheckVerifyOk(server, "gap: device " + tablet.client->device_id() + ": batches 3..4 lost");
}

}  // namespace
}  // namespace vigil::testing
