// The device and syncd together, for real: syncd as a child process over TLS on 127.0.0.1,
// client-core with its own encrypted store, libcurl with the pinned key.
#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>
#include <sqlite3.h>

#include <atomic>

#include "syncd_harness.h"
#include "vigil/client/answer_input.h"
#include "vigil/client/client.h"
#include "vigil/protocol/crypto.h"
#include "vigil/v1/admin.pb.h"

namespace vigil::testing {
namespace {

using client::Client;

// A cheap key protector for tests: the PIN path is tested in tests/client.
std::unique_ptr<client::KeyProtector> TestPin() {
  return client::MakePinKeyProtector("246810", client::ScryptParams{10, 8, 1});
}

// A device store in its own folder, enrolled with `payload` unless it is empty.
struct Device {
  TempDir dir;
  std::unique_ptr<Client> client;
  explicit Device(uint32_t max_batch = 200) {
    auto pin = TestPin();
    client::InitOptions options;
    options.max_records_per_batch = max_batch;
    auto c = Client::Init(dir / "home", *pin, options);
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    client = std::move(c).value();
  }
  Status Enroll(const std::string& payload, const std::string& ca_file) {
    v1::DeviceInfo info;
    info.set_model("integration-test");
    return client->Enroll(payload, info, ca_file).status();
  }
  // Fills and finalizes `form` with example answers for the station; returns the id.
  std::string Fill(const std::string& form_id, uint64_t seed,
                   const std::string& station = Syncd::kStation) {
    auto form = client->GetForm(form_id);
    REQUIRE(form.ok());
    auto draft = client->StartDraft(form_id, station);
    REQUIRE(draft.ok());
    REQUIRE(client->SetAnswers(*draft, client::ExampleAnswers(*form, seed), true).ok());
    auto id = client->Finalize(*draft);
    REQUIRE_MESSAGE(id.ok(), id.status().ToString());
    return *id;
  }
};

client::SyncOptions Options(const Syncd& server) {
  client::SyncOptions o;
  o.ca_file = server.ca_file();  // chain and host verified too, on top of the pin
  o.max_attempts = 3;
  o.base_delay = std::chrono::milliseconds(10);
  o.max_delay = std::chrono::milliseconds(50);
  return o;
}

// How many times each record id appears in `syncd admin export submissions --csv`.
size_t CountInExport(Syncd& server, const std::string& id) {
  std::string csv = server.Admin("export submissions --csv");
  size_t n = 0;
  for (size_t at = csv.find(id); at != std::string::npos; at = csv.find(id, at + 1)) ++n;
  return n;
}

TEST_CASE("enroll then fill then sync: syncd stores each record once and the receipts verify") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Device device;
  REQUIRE(device.Enroll(server.EnrollCode("obs1"), server.ca_file()).ok());
  auto stations = device.client->Stations();
  REQUIRE(stations.ok());
  REQUIRE(stations->size() == 1);
  CHECK(stations->front().code() == Syncd::kStation);
  CHECK(device.client->ListForms()->size() == 4);  // published forms came with enrollment

  std::string opening = device.Fill("opening", 1);
  std::string voting = device.Fill("voting", 2);
  client::IncidentInput incident;
  incident.station_code = Syncd::kStation;
  incident.category = "intimidation";
  incident.severity = "high";
  incident.narrative = "Men photographing voters at the gate";
  auto incident_id = device.client->ReportIncident(incident);
  REQUIRE(incident_id.ok());

  auto report = device.client->Sync(Options(server));
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report->records_ok == 3);
  CHECK(report->records_rejected == 0);
  auto status = device.client->GetStatus();
  CHECK(status->acknowledged == 3);
  CHECK(status->outbox + status->batched == 0);
  CHECK(status->observer_id == "obs1");

  v1::ServerStats stats = Stats(server);
  CHECK(stats.submissions() == 2);
  CHECK(stats.incidents() == 1);
  CHECK(CountInExport(server, opening) == 1);
  CHECK(CountInExport(server, voting) == 1);

  // Nothing new: a second sync sends nothing and changes nothing.
  auto again = device.client->Sync(Options(server));
  REQUIRE(again.ok());
  CHECK(again->batches_sent == 0);
  CHECK(Stats(server).submissions() == 2);

  auto receipts = device.client->VerifyReceipts();
  REQUIRE(receipts.ok());
  CHECK(receipts->verified == 1);
  CHECK(receipts->failures.empty());
}

TEST_CASE("the same batch sent twice gets the same receipt and nothing is doubled") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Device device;
  REQUIRE(device.Enroll(server.EnrollCode("obs1"), server.ca_file()).ok());
  device.Fill("opening", 3);
  REQUIRE(device.client->SealOutbox().ok());
  auto pending = device.client->PendingBatches();
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 1);

  client::TransportOptions t;
  t.base_url = server.url();
  auto payload = protocol::Base64UrlDecode(server.EnrollCode("obs2"));
  v1::EnrollmentPayload p;
  REQUIRE(p.ParseFromString(*payload));
  t.tls_pin = p.tls_pin();
  auto transport = client::MakeCurlTransport(t);
  REQUIRE(transport.ok());
  auto first = (*transport)->Post("/v1/push", pending->front().signed_batch);
  auto second = (*transport)->Post("/v1/push", pending->front().signed_batch);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->status == 200);
  CHECK(second->status == 200);
  v1::PushResponse a, b;
  REQUIRE(a.ParseFromString(first->body));
  REQUIRE(b.ParseFromString(second->body));
  CHECK(a.receipt().SerializeAsString() == b.receipt().SerializeAsString());
  CHECK(b.statuses(0).outcome() != v1::RECORD_REJECTED);

  // The device, not knowing, sends it a third time: the receipt still verifies.
  auto report = device.client->Sync(Options(server));
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(Stats(server).submissions() == 1);
  CHECK(device.client->VerifyReceipts()->verified == 1);
}

TEST_CASE("a wrong TLS pin: the client refuses to talk and the server sees nothing") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  auto bytes = protocol::Base64UrlDecode(server.EnrollCode("obs1"));
  REQUIRE(bytes.ok());
  v1::EnrollmentPayload payload;
  REQUIRE(payload.ParseFromString(*bytes));
  std::string pin = payload.tls_pin();
  pin[0] = static_cast<char>(pin[0] ^ 0x01);
  payload.set_tls_pin(pin);
  Device device;
  Status s = device.Enroll(protocol::Base64UrlEncode(payload.SerializeAsString()), "");
  CHECK(s.code() == StatusCode::kUnauthenticated);
  CHECK(s.message().find("pinned") != std::string::npos);
  CHECK(Stats(server).devices() == 0);
}

TEST_CASE("an enrollment code works once and an expired one is refused clearly") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  std::string code = server.EnrollCode("obs1");
  Device first;
  REQUIRE(first.Enroll(code, server.ca_file()).ok());
  Device second;
  Status reused = second.Enroll(code, server.ca_file());
  CHECK(reused.code() == StatusCode::kPermissionDenied);
  CHECK(reused.message().find("ENROLLMENT_CODE_INVALID") != std::string::npos);

  std::string expired = server.EnrollCode("obs2", "1h");
  {
    // Move the code's expiry into the past (syncd's WAL store accepts a second writer).
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(server.data_path("syncd.db").c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    REQUIRE(sqlite3_exec(db,
                         "UPDATE enrollment_codes SET expires_at_ms = 1 WHERE spent_at_ms IS NULL",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  Device third;
  Status late = third.Enroll(expired, server.ca_file());
  CHECK(late.code() == StatusCode::kPermissionDenied);
  CHECK(late.message().find("ENROLLMENT_CODE_INVALID") != std::string::npos);
  CHECK(Stats(server).devices() == 1);
}

TEST_CASE("a revoked device is refused by name and keeps its records") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Device device;
  REQUIRE(device.Enroll(server.EnrollCode("obs1"), server.ca_file()).ok());
  server.Admin("devices revoke " + device.client->device_id() + " --reason seized");
  device.Fill("opening", 4);
  auto report = device.client->Sync(Options(server));
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().code() == StatusCode::kPermissionDenied);
  CHECK(report.status().message().find("DEVICE_REVOKED") != std::string::npos);
  CHECK(device.client->GetStatus()->batched == 1);  // still held, not lost
  CHECK(Stats(server).submissions() == 0);
}

TEST_CASE(
    "syncd killed with SIGKILL in the middle of a sync: the client finishes and each record is "
    "stored once") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Device device(/*max_batch=*/1);  // one record per batch: many requests to interrupt
  REQUIRE(device.Enroll(server.EnrollCode("obs1"), server.ca_file()).ok());
  std::vector<std::string> ids;
  ids.reserve(12);
  for (int i = 0; i < 12; ++i) ids.push_back(device.Fill(i % 2 ? "opening" : "voting", 10 + i));

  client::SyncOptions options = Options(server);
  options.max_attempts = 50;
  int port = server.port();
  bool killed = false;
  bool restarted = false;
  options.progress = [&](const client::SyncProgress& p) {
    if (!killed && p.batches_done == 5) {
      server.Kill();  // between two pushes: the next one meets a dead server
      killed = true;
    }
  };
  options.wait = [&](std::chrono::milliseconds) {
    if (killed && !restarted) {
      server.Serve(port);  // same data dir, same port: the device's pinned URL
      restarted = true;
    }
  };
  auto report = device.client->Sync(options);
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(killed);
  CHECK(restarted);
  CHECK(report->retries >= 1);
  CHECK(device.client->GetStatus()->acknowledged == 12);
  CHECK(Stats(server).submissions() == 12);
  for (const std::string& id : ids) CHECK(CountInExport(server, id) == 1);
  CHECK(device.client->VerifyReceipts()->verified == 12);
}

TEST_CASE("a device whose store was lost re-enrolls and nothing is duplicated") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  std::string kept;
  {
    Device lost;
    REQUIRE(lost.Enroll(server.EnrollCode("obs1"), server.ca_file()).ok());
    kept = lost.Fill("opening", 5);
    REQUIRE(lost.client->Sync(Options(server)).ok());
  }  // the store is gone with its folder
  Device fresh;
  REQUIRE(fresh.Enroll(server.EnrollCode("obs1"), server.ca_file()).ok());
  std::string next = fresh.Fill("voting", 6);
  REQUIRE(fresh.client->Sync(Options(server)).ok());
  v1::ServerStats stats = Stats(server);
  CHECK(stats.devices() == 2);
  CHECK(stats.submissions() == 2);
  CHECK(CountInExport(server, kept) == 1);
  CHECK(CountInExport(server, next) == 1);
}

TEST_CASE("a coordinator's broadcast reaches the device's inbox on the next sync") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Device device;
  REQUIRE(device.Enroll(server.EnrollCode("obs1"), server.ca_file()).ok());
  server.Admin("broadcast --text 'Polls in Kandal close at 15:00 sharp' --lang en --author HQ");
  auto report = device.client->Sync(Options(server));
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  auto inbox = device.client->Inbox();
  REQUIRE(inbox.ok());
  REQUIRE(inbox->size() == 1);
  CHECK(inbox->front().text().at("en") == "Polls in Kandal close at 15:00 sharp");
  // Pulled once: the cursor moved, so the next sync brings nothing new.
  auto again = device.client->Sync(Options(server));
  REQUIRE(again.ok());
  CHECK(again->broadcasts_received == 0);
}

TEST_CASE("a second serve on the same data directory is refused while the first runs") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  std::string out;
  int rc = Shell(std::string(SYNCD_PATH) + " serve --data " + server.data() +
                     " --listen 127.0.0.1:0 --ready-file " + server.path("second-ready"),
                 &out);
  CHECK(rc != 0);
  CHECK(out.find("another syncd serve already uses") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(server.path("second-ready")));
  server.Kill();  // the lock goes with the process: a restart works
  server.Serve();
  CHECK_FALSE(server.url().empty());
}

TEST_CASE("a stored receipt that was tampered with fails verification") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Device device;
  REQUIRE(device.Enroll(server.EnrollCode("obs1"), server.ca_file()).ok());
  device.Fill("opening", 7);
  REQUIRE(device.client->Sync(Options(server)).ok());
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((device.dir / "home/vigil.db").c_str(), &db) == SQLITE_OK);
    // Flip one byte inside the signed receipt bytes.
    REQUIRE(sqlite3_exec(db,
                         "UPDATE receipts SET receipt = substr(receipt, 1, 10) || "
                         "char((unicode(substr(receipt, 11, 1)) + 1) % 128) || substr(receipt, 12)",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto check = device.client->VerifyReceipts();
  REQUIRE(check.ok());
  CHECK(check->verified == 0);
  CHECK(check->failures.size() == 1);
}

TEST_CASE("a record the server holds is shown on the device as held, until it is released") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Device device;
  REQUIRE(device.Enroll(server.EnrollCode("obs1"), server.ca_file()).ok());
  // A station obs1 is not assigned to (the observer was sent there on the day).
  const std::string elsewhere = "12-03-07-0453";
  std::string held_id = device.Fill("opening", 7, elsewhere);
  device.Fill("voting", 8);

  auto report = device.client->Sync(Options(server));
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report->records_ok == 1);
  CHECK(report->records_held == 1);
  REQUIRE(report->held.size() == 1);
  CHECK(report->held[0].find(held_id) != std::string::npos);
  CHECK(report->held[0].find("not assigned to observer obs1") != std::string::npos);
  auto status = device.client->GetStatus();
  REQUIRE(status.ok());
  CHECK(status->held_by_server == 1);
  REQUIRE(status->held_reasons.size() == 1);
  CHECK(status->held_reasons[0].first == held_id);
  CHECK(status->held_reasons[0].second.find("not assigned") != std::string::npos);
  CHECK(Stats(server).submissions() == 1);
  CHECK(CountInExport(server, held_id) == 0);

  server.Admin("observers assign obs1 --stations " + elsewhere + " --by ana");
  server.Admin("quarantine release " + held_id + " --by ana --reason sent-there");
  CHECK(Stats(server).submissions() == 2);
  CHECK(CountInExport(server, held_id) == 1);
  auto after = device.client->Sync(Options(server));
  REQUIRE(after.ok());
  status = device.client->GetStatus();
  CHECK(status->held_by_server == 0);
  CHECK(status->held_reasons.empty());
}

}  // namespace
}  // namespace vigil::testing
