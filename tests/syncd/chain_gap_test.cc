// A device's chain across a server restore (syncd/src/store/sqlite_chain_ops.h,
// docs/protocol.md §10.4) through the router: backups_taken / backed_up_seq after
// `syncd admin backup` (admin/backup.h), resend_from_seq for a device that holds receipts
// beyond the server, and lost_through_seq: refused when it makes no sense, else a recorded
// and alerted gap after which the chain goes on.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "admin/backup.h"
#include "admin/verify.h"
#include "test_util.h"
#include "vigil/sqlite/db.h"

namespace vigil::syncd::testing {
namespace {

// A signed pull with the restore fields.
std::string PullWith(const TestDevice& device, const std::string& nonce, uint64_t acknowledged,
                     uint64_t lost_through = 0, const std::string& lost_hash = "") {
  v1::Pull pull;
  pull.set_device_id(device.device_id);
  pull.set_nonce(nonce);
  pull.set_acknowledged_seq(acknowledged);
  pull.set_lost_through_seq(lost_through);
  pull.set_lost_through_hash(lost_hash);
  v1::SignedPull signed_pull;
  signed_pull.set_pull_bytes(pull.SerializeAsString());
  Result<std::string> signature = device.key->Sign(
      protocol::SignatureInput(protocol::kPullLabel, device.server_id, signed_pull.pull_bytes()));
  REQUIRE(signature.ok());
  signed_pull.set_signature(*signature);
  return signed_pull.SerializeAsString();
}

v1::PullResponse PullOk(TestServer& server, const std::string& body) {
  HttpResponse r = server.Post("/v1/pull", body);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  v1::PullResponse response;
  REQUIRE(response.ParseFromString(r.body));
  return response;
}

int64_t CountRows(TestServer& server, const std::string& sql) {
  sqlite::Db db =
      sqlite::Db::Open(server.db_path(), {.create = false, .busy_timeout_ms = 5000}).value();
  sqlite::Statement stmt(db.get(), sql);
  REQUIRE(stmt.Step().value());
  return stmt.Int(0);
}

TEST_CASE("chain: backups_taken and backed_up_seq follow the newest completed backup") {
  TestServer server;
  TestDevice device = server.Enroll();
  REQUIRE(server.Post("/v1/push", device.NextBody({MakeSubmission("r1")})).status == 200);
  v1::PullResponse before = PullOk(server, PullWith(device, std::string(16, 'a'), 1));
  CHECK_FALSE(before.backups_taken());
  CHECK(before.backed_up_seq() == 0);
  CHECK(before.resend_from_seq() == 0);

  // The data dir's key files, as `syncd init` leaves them (contents do not matter here).
  const std::string dir = std::filesystem::path(server.db_path()).parent_path().string();
  std::filesystem::create_directories(dir + "/tls");
  for (const char* name : {"receipt_key", "tls/cert.pem", "tls/key.pem"}) {
    std::ofstream(dir + "/" + name) << "key material " << name;
  }
  Result<BackupResult> backup = TakeBackup(DataDir(dir), dir + "/one.backup");
  REQUIRE_MESSAGE(backup.ok(), backup.status().ToString());
  CHECK(backup->devices == 1);
  CHECK(backup->batches == 1);
  CHECK(backup->sha256.size() == 32);
  CHECK_FALSE(TakeBackup(DataDir(dir), dir + "/one.backup").ok());  // Never overwritten.

  REQUIRE(server.Post("/v1/push", device.NextBody({MakeSubmission("r2")})).status == 200);
  v1::PullResponse after = PullOk(server, PullWith(device, std::string(16, 'b'), 2));
  CHECK(after.backups_taken());
  CHECK(after.backed_up_seq() == 1);  // Batch 2 came after the backup.
  CHECK(after.last_accepted_seq() == 2);

  // A device enrolled after the newest backup: backups run, but none holds its batches.
  TestDevice later = server.Enroll();
  v1::PullResponse none = PullOk(server, PullWith(later, std::string(16, 'c'), 0));
  CHECK(none.backups_taken());
  CHECK(none.backed_up_seq() == 0);
}

TEST_CASE("chain: a device ahead of the server is asked to resend, and alerts are raised") {
  TestServer server;
  TestDevice device = server.Enroll();
  REQUIRE(server.Post("/v1/push", device.NextBody({MakeSubmission("r1")})).status == 200);
  v1::PullResponse ahead = PullOk(server, PullWith(device, std::string(16, 'a'), 4));
  CHECK(ahead.last_accepted_seq() == 1);
  CHECK(ahead.resend_from_seq() == 2);
  v1::AlertPage alerts = server.store().AlertPage("RESEND_REQUESTED", {}).value();
  REQUIRE(alerts.alerts_size() == 1);
  CHECK(alerts.alerts(0).device_id() == device.device_id);
  CHECK(alerts.alerts(0).detail().find("resend from 2") != std::string::npos);
  // Asked again while still behind: the same alert is counted, not repeated.
  PullOk(server, PullWith(device, std::string(16, 'b'), 4));
  alerts = server.store().AlertPage("RESEND_REQUESTED", {}).value();
  REQUIRE(alerts.alerts_size() == 1);
  CHECK(alerts.alerts(0).count() == 2);
}

TEST_CASE("chain: lost batches are refused when the claim makes no sense, else a recorded gap") {
  TestServer server;
  TestDevice device = server.Enroll();
  REQUIRE(server.Post("/v1/push", device.NextBody({MakeSubmission("r1")})).status == 200);
  REQUIRE(server.Post("/v1/push", device.NextBody({MakeSubmission("r2")})).status == 200);
  // Batches 3 and 4 the device made and (as far as it knows) had acknowledged, then purged.
  std::string lost3 = device.BatchBytes({MakeSubmission("r3")}, 3, device.last_hash);
  std::string lost4 = device.BatchBytes({MakeSubmission("r4")}, 4, protocol::Sha256(lost3));
  const std::string hash4 = protocol::Sha256(lost4);
  device.next_seq = 5;
  device.last_hash = hash4;

  struct Nonsense {
    uint64_t acknowledged, through;
    std::string hash, says;
  };
  const Nonsense refused[] = {
      {5, 2, hash4, "not beyond the server's last_accepted_seq 2"},
      {5, 1, hash4, "not beyond"},
      {3, 4, hash4, "beyond the pull's acknowledged_seq 3"},
      {5, 4, hash4.substr(0, 31), "lost_through_hash must be 32 bytes"},
      {5, 4, "", "lost_through_hash must be 32 bytes"},
  };
  char n = 'a';
  for (const Nonsense& c : refused) {
    HttpResponse r = server.Post(
        "/v1/pull", PullWith(device, std::string(16, n++), c.acknowledged, c.through, c.hash));
    CHECK(r.status == 400);
    v1::Error error = ErrorOf(r);
    CHECK(error.code() == v1::MALFORMED);
    CHECK_MESSAGE(error.message().find(c.says) != std::string::npos, error.message());
  }
  CHECK(CountRows(server, "SELECT count(*) FROM chain_gaps") == 0);
  CHECK(CountRows(server, "SELECT last_seq FROM devices") == 2);

  v1::PullResponse gap = PullOk(server, PullWith(device, std::string(16, 'z'), 5, 4, hash4));
  CHECK(gap.last_accepted_seq() == 4);
  CHECK(gap.last_accepted_hash() == hash4);
  CHECK(gap.resend_from_seq() == 5);
  CHECK_FALSE(gap.has_last_receipt());  // Batch 4 is not stored.
  CHECK(CountRows(server, "SELECT count(*) FROM chain_gaps WHERE from_seq = 3 AND to_seq = 4") ==
        1);
  v1::AlertPage alerts = server.store().AlertPage("CHAIN_GAP", {}).value();
  REQUIRE(alerts.alerts_size() == 1);
  CHECK(alerts.alerts(0).detail().find("batches 3..4 are lost") != std::string::npos);

  // The chain goes on from the gap's hash.
  REQUIRE(server.Post("/v1/push", device.NextBody({MakeSubmission("r5")})).status == 200);
  // A batch inside the gap is never stored afterwards.
  HttpResponse late = server.Post("/v1/push", device.Sign(lost3));
  CHECK(late.status == 409);
  CHECK(ErrorOf(late).code() == v1::CHAIN_MISMATCH);
  CHECK(ErrorOf(late).expected_seq() == 6);
  CHECK(CountRows(server, "SELECT count(*) FROM records WHERE record_id = 'r3'") == 0);
  // A second claim over the same batches is nonsense now: they are behind the chain.
  HttpResponse again = server.Post("/v1/pull", PullWith(device, std::string(16, 'y'), 5, 4, hash4));
  CHECK(again.status == 400);

  // verify accepts the recorded gap, lists it, and still checks the rest.
  server.store().Close();
  Result<VerifyReport> report = VerifyStore(server.db_path(), {});
  REQUIRE(report.ok());
  CHECK_MESSAGE(report->ok(), VerifyText(*report));
  REQUIRE(report->gaps.size() == 1);
  CHECK(report->gaps[0].find("batches 3..4 lost") != std::string::npos);
  CHECK(report->batches == 3);
}

}  // namespace
}  // namespace vigil::syncd::testing
