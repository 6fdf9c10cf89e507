// End to end: the real `syncd` binary as a child process (TLS, port 0, a temporary data
// dir) and a minimal libcurl client with TLS verification on and the server key pinned.
#include <curl/curl.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "deployment.h"
#include "serve_process.h"
#include "test_util.h"
#include "tls/cert.h"

namespace vigil::syncd {
namespace {

using testing::Client;
using testing::Deployment;
using testing::ErrorOf;
using testing::MakeSubmission;
using testing::RunSyncd;
using testing::ServeProcess;
using testing::TempDir;
using testing::TestDevice;

using Clock = std::chrono::steady_clock;

TEST_CASE(
    "end to end over HTTPS: receipts and replays and every refusal and revocation and clean stop") {
  Deployment deployment;
  ServeProcess serve(deployment.data, deployment.dir.path(), "serve");
  const std::string url = serve.WaitReady();
  CHECK(url.rfind("https://127.0.0.1:", 0) == 0);
  Client client(url, deployment.ca(), deployment.pin());
  std::string receipt_key_raw;
  TestDevice device = deployment.Enroll(client, url, &receipt_key_raw);
  protocol::Ed25519PublicKey receipt_key =
      protocol::Ed25519PublicKey::FromRaw(receipt_key_raw).value();

  // Push: the receipt verifies with the server key from enrollment.
  std::string batch1 = device.NextBody({MakeSubmission("00000000-0000-4000-8000-00000000000a"),
                                        MakeSubmission("00000000-0000-4000-8000-00000000000b")});
  v1::SignedBatch signed1;
  REQUIRE(signed1.ParseFromString(batch1));
  const std::string& body1 = batch1;
  Client::Response first = client.Post("/v1/push", body1);
  REQUIRE(first.status == 200);
  v1::PushResponse push;
  REQUIRE(push.ParseFromString(first.body));
  CHECK(receipt_key.Verify(protocol::SignatureInput(protocol::kReceiptLabel, "it-server",
                                                    push.receipt().receipt_bytes()),
                           push.receipt().signature()));
  CHECK(push.statuses_size() == 2);

  // The same batch again: the identical answer, nothing doubled.
  Client::Response again = client.Post("/v1/push", body1);
  CHECK(again.status == 200);
  CHECK(again.body == first.body);
  v1::ServerStats stats = deployment.Stats();
  CHECK(stats.batches() == 1);
  CHECK(stats.submissions() == 2);

  // One flipped byte: 401.
  std::string bytes2 = device.BatchBytes({MakeSubmission("00000000-0000-4000-8000-00000000000c")},
                                         2, protocol::Sha256(signed1.batch_bytes()));
  v1::SignedBatch signed2;
  REQUIRE(signed2.ParseFromString(device.Sign(bytes2)));
  std::string flipped = bytes2;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x01);
  signed2.set_batch_bytes(flipped);
  Client::Response tampered = client.Post("/v1/push", signed2.SerializeAsString());
  CHECK(tampered.status == 401);
  CHECK(ErrorOf(tampered).code() == v1::BAD_SIGNATURE);

  // A skipped sequence: 409 with the expected one.
  std::string bytes3 = device.BatchBytes({MakeSubmission("00000000-0000-4000-8000-00000000000d")},
                                         3, protocol::Sha256(bytes2));
  Client::Response gap = client.Post("/v1/push", device.Sign(bytes3));
  CHECK(gap.status == 409);
  CHECK(ErrorOf(gap).code() == v1::SEQUENCE_GAP);
  CHECK(ErrorOf(gap).expected_seq() == 2);

  // Same sequence, other bytes: 409 equivocation, kept and counted in stats.
  std::string fork1 = device.BatchBytes({MakeSubmission("00000000-0000-4000-8000-00000000000e")}, 1,
                                        protocol::GenesisHash());
  Client::Response equivocation = client.Post("/v1/push", device.Sign(fork1));
  CHECK(equivocation.status == 409);
  CHECK(ErrorOf(equivocation).code() == v1::EQUIVOCATION);
  CHECK(deployment.Stats().equivocations() == 1);

  // Over the body cap (65536 here): 413. Garbage: 400.
  Client::Response large = client.Post("/v1/push", std::string(100000, 'x'));
  CHECK(large.status == 413);
  Client::Response garbage = client.Post("/v1/push", "\xff\xfe garbage");
  CHECK(garbage.status == 400);
  CHECK(ErrorOf(garbage).code() == v1::MALFORMED);

  // The next good batch is accepted; then the device is revoked while syncd runs: 403.
  CHECK(client.Post("/v1/push", device.Sign(bytes2)).status == 200);
  deployment.Admin("devices revoke " + device.device_id + " --reason seized");
  std::string bytes3b = device.BatchBytes({MakeSubmission("00000000-0000-4000-8000-00000000000f")},
                                          3, protocol::Sha256(bytes2));
  Client::Response revoked = client.Post("/v1/push", device.Sign(bytes3b));
  CHECK(revoked.status == 403);
  CHECK(ErrorOf(revoked).code() == v1::DEVICE_REVOKED);
  CHECK(deployment.Admin("devices list").find("revoked") != std::string::npos);

  stats = deployment.Stats();
  CHECK(stats.batches() == 2);
  CHECK(stats.submissions() == 3);
  bool counted = false;
  for (const v1::RejectionCount& r : stats.rejections()) {
    if (r.reason() == "BAD_SIGNATURE") counted = r.count() >= 1;
  }
  CHECK(counted);

  // A wrong pin: the client refuses to talk.
  Client wrong(url, deployment.ca(), PinForCurl(std::string(32, '\x01')));
  Client::Response refused = wrong.Post("/v1/push", body1);
  CHECK(refused.rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH);

  CHECK(serve.Terminate() == 0);
  CHECK(serve.Log().find("syncd: stopped after") != std::string::npos);
}

TEST_CASE("SIGKILL mid-sync and restart: every acknowledged batch is there exactly once") {
  constexpr int kBatches = 20;
  constexpr int kRecordsPerBatch = 3;
  Deployment deployment;
  std::vector<std::string> bodies;
  std::string receipt_key_raw;
  TestDevice device;
  {
    ServeProcess serve(deployment.data, deployment.dir.path(), "before");
    const std::string url = serve.WaitReady();
    Client client(url, deployment.ca(), deployment.pin());
    device = deployment.Enroll(client, url, &receipt_key_raw);
    for (int b = 0; b < kBatches; ++b) {
      std::vector<v1::Record> records;
      records.reserve(kRecordsPerBatch);
      for (int r = 0; r < kRecordsPerBatch; ++r) {
        records.push_back(MakeSubmission("rec-" + std::to_string(b) + "-" + std::to_string(r)));
      }
      std::string bytes = device.BatchBytes(records, device.next_seq, device.last_hash);
      ++device.next_seq;
      device.last_hash = protocol::Sha256(bytes);
      bodies.push_back(device.Sign(bytes));
    }

    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> acked;  // Answer bodies of the acknowledged batches, in order.
    bool done = false;
    std::thread pusher([&] {
      Client pushing(url, deployment.ca(), deployment.pin());
      for (const std::string& body : bodies) {
        Client::Response r = pushing.Post("/v1/push", body);
        std::lock_guard lock(mu);
        if (r.rc != CURLE_OK || r.status != 200) break;
        acked.push_back(r.body);
        cv.notify_all();
      }
      std::lock_guard lock(mu);
      done = true;
      cv.notify_all();
    });
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::seconds(60), [&] { return acked.size() >= 5 || done; });
    }
    serve.Kill();
    pusher.join();
    std::vector<std::string> acked_copy;
    {
      std::lock_guard lock(mu);
      acked_copy = acked;
    }
    REQUIRE(acked_copy.size() >= 5);
    MESSAGE("syncd was killed after " << acked_copy.size() << " of " << kBatches
                                      << " batches were acknowledged");

    // Restart on the same data dir; the device resends everything from the start.
    ServeProcess restarted(deployment.data, deployment.dir.path(), "after");
    const std::string url2 = restarted.WaitReady();
    Client client2(url2, deployment.ca(), deployment.pin());
    for (size_t i = 0; i < bodies.size(); ++i) {
      Client::Response r = client2.Post("/v1/push", bodies[i]);
      REQUIRE_MESSAGE(r.status == 200, "batch " << i + 1 << " rc=" << r.rc);
      if (i < acked_copy.size()) CHECK(r.body == acked_copy[i]);  // Identical receipt.
    }
    v1::ServerStats stats = deployment.Stats();
    CHECK(stats.batches() == kBatches);
    CHECK(stats.submissions() == kBatches * kRecordsPerBatch);
    std::string csv = deployment.Admin("export submissions --csv");
    std::set<std::string> ids;
    size_t lines = 0;
    std::istringstream in(csv);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      ++lines;
      ids.insert(line.substr(0, line.find(',')));
    }
    CHECK(lines == kBatches * kRecordsPerBatch);
    CHECK(ids.size() == lines);
  }
}

TEST_CASE("--no-tls is refused on a non-loopback address") {
  Deployment deployment;
  auto [rc, out] = RunSyncd("serve --data " + deployment.data + " --no-tls --listen 0.0.0.0:0");
  CHECK(rc != 0);
  CHECK(out.find("loopback") != std::string::npos);
}

TEST_CASE("init refuses an existing data dir and admin refuses a missing one") {
  Deployment deployment;
  CHECK(RunSyncd("init --data " + deployment.data).first != 0);
  auto [rc, out] = RunSyncd("admin --data " + deployment.dir.path() + "/nothing stats");
  CHECK(rc != 0);
  CHECK(out.find("syncd init") != std::string::npos);
}

TEST_CASE("disk full over HTTPS: 503 UNAVAILABLE until syncd has room again and nothing is lost") {
  Deployment deployment;
  std::string receipt_key_raw;
  TestDevice device;
  std::vector<std::string> accepted;  // Bodies acknowledged while the store could grow.
  std::string refused;
  auto big_body = [&device](int n) {
    v1::Record record = MakeSubmission("big-" + std::to_string(n));
    v1::Answer* remarks = record.mutable_submission()->add_answers();
    remarks->set_question_id("q99_remarks");
    remarks->mutable_value()->set_text(
        protocol::HexEncode(protocol::RandomBytes(12 * 1024).value()));  // 24 KiB of text
    return device.NextBody({record});
  };
  {
    ServeProcess serve(deployment.data, deployment.dir.path(), "small", {"--max-db-mb", "1"});
    const std::string url = serve.WaitReady();
    Client client(url, deployment.ca(), deployment.pin());
    device = deployment.Enroll(client, url, &receipt_key_raw);
    for (int n = 0; n < 200 && refused.empty(); ++n) {
      std::string body = big_body(n);
      Client::Response r = client.Post("/v1/push", body);
      if (r.status == 200) {
        accepted.push_back(body);
        continue;
      }
      REQUIRE(r.status == 503);
      v1::Error error = ErrorOf(r);
      CHECK(error.code() == v1::UNAVAILABLE);
      CHECK(error.retryable());
      CHECK(error.message().find("the server's storage is full") != std::string::npos);
      refused = body;
    }
    REQUIRE_FALSE(refused.empty());
    REQUIRE(accepted.size() >= 3);
    MESSAGE(accepted.size() << " batches fitted in 1 MiB before the first 503");
    // Retried as devices do, the same bytes get the same answer while there is no room.
    CHECK(client.Post("/v1/push", refused).status == 503);
    CHECK(serve.Terminate() == 0);
    CHECK(serve.Log().find("/v1/push 503") != std::string::npos);
  }
  ServeProcess roomy(deployment.data, deployment.dir.path(), "roomy", {"--max-db-mb", "64"});
  Client client(roomy.WaitReady(), deployment.ca(), deployment.pin());
  CHECK(client.Post("/v1/push", refused).status == 200);
  for (const std::string& body : accepted) CHECK(client.Post("/v1/push", body).status == 200);
  CHECK(deployment.Stats().batches() == accepted.size() + 1);
  int rc = 0;
  std::string out;
  std::tie(rc, out) = RunSyncd("admin --data " + deployment.data + " verify");
  CHECK_MESSAGE(rc == 0, out);
  CHECK(out.find("verify: ok") != std::string::npos);
}

TEST_CASE("admin verify names the first difference and exits 1") {
  Deployment deployment;
  int rc = 0;
  std::string out;
  std::tie(rc, out) = RunSyncd("admin --data " + deployment.data + " verify");
  CHECK_MESSAGE(rc == 0, out);
  {
    Result<sqlite::Db> db = sqlite::Db::Open(deployment.data + "/syncd.db",
                                             {.create = false, .busy_timeout_ms = 10000});
    REQUIRE(db.ok());
    REQUIRE(db->Exec("INSERT INTO cases VALUES ('ghost', 'x', 0, x'')").ok());
  }
  auto [bad_rc, bad_out] = RunSyncd("admin --data " + deployment.data + " verify");
  CHECK(bad_rc == 1);
  CHECK(bad_out.find("syncd: verify: case ghost: stored, but the recomputation has none") !=
        std::string::npos);
}

TEST_CASE("over HTTPS: a record the device may not send is held, listed, released once, verified") {
  Deployment deployment;
  const std::string other = "12-03-07-0453";
  std::ofstream(deployment.dir.path() + "/more.csv")
      << "code,name,province,district,commune,registered_voters\n"
      << other << ",Pagoda,Phnom Penh,D,C,500\n";
  deployment.Admin("stations import " + deployment.dir.path() + "/more.csv");
  deployment.Admin("observers add obs2 --name Dara --stations " + other);
  ServeProcess serve(deployment.data, deployment.dir.path(), "serve");
  const std::string url = serve.WaitReady();
  Client client(url, deployment.ca(), deployment.pin());
  std::string receipt_key;
  TestDevice device = deployment.Enroll(client, url, &receipt_key);

  v1::Record claims = MakeSubmission("00000000-0000-4000-8000-0000000000c1");  // Claims obs1.
  claims.mutable_submission()->set_observer_id("obs2");
  v1::Record elsewhere = MakeSubmission("00000000-0000-4000-8000-0000000000c2");
  elsewhere.mutable_submission()->set_station_code(other);
  Client::Response pushed = client.Post("/v1/push", device.NextBody({claims, elsewhere}));
  REQUIRE(pushed.status == 200);
  v1::PushResponse push;
  REQUIRE(push.ParseFromString(pushed.body));
  REQUIRE(push.statuses_size() == 2);
  CHECK(push.statuses(0).outcome() == v1::RECORD_QUARANTINED);
  CHECK(push.statuses(0).reason().find("claims observer 'obs2'") != std::string::npos);
  CHECK(push.statuses(1).outcome() == v1::RECORD_QUARANTINED);
  CHECK(push.statuses(1).reason().find("not assigned to observer obs1") != std::string::npos);

  v1::ServerStats stats = deployment.Stats();
  CHECK(stats.submissions() == 0);
  CHECK(stats.quarantined() == 2);
  std::string listed = deployment.Admin("quarantine");
  CHECK(listed.find("00000000-0000-4000-8000-0000000000c1") != std::string::npos);
  CHECK(listed.find("claims obs2") != std::string::npos);
  v1::QuarantinePage page;
  REQUIRE(google::protobuf::util::JsonStringToMessage(deployment.Admin("quarantine --json"), &page)
              .ok());
  CHECK(page.total() == 2);
  CHECK(deployment.Admin("alerts --kind QUARANTINED").find("QUARANTINED") != std::string::npos);

  // Released too early: it still fails, and says why.
  auto [early_rc, early_out] =
      RunSyncd("admin --data " + deployment.data +
               " quarantine release 00000000-0000-4000-8000-0000000000c2 --by ana --reason moved");
  CHECK(early_rc == 1);
  CHECK(early_out.find("still fails") != std::string::npos);
  deployment.Admin("observers assign obs1 --stations " + other + " --by ana");
  deployment.Admin(
      "quarantine release 00000000-0000-4000-8000-0000000000c2 --by ana --reason moved");
  stats = deployment.Stats();
  CHECK(stats.submissions() == 1);
  CHECK(stats.quarantined() == 1);
  CHECK(deployment.Admin("audit").find("quarantine.release") != std::string::npos);
  // The device hears which of its records are still held.
  Client::Response pulled = client.Post("/v1/pull", device.PullBody(0, std::string(16, 'p')));
  REQUIRE(pulled.status == 200);
  v1::PullResponse pull;
  REQUIRE(pull.ParseFromString(pulled.body));
  REQUIRE(pull.held_records_size() == 1);
  CHECK(pull.held_records(0).record_id() == "00000000-0000-4000-8000-0000000000c1");

  auto [rc, out] = RunSyncd("admin --data " + deployment.data + " verify");
  CHECK_MESSAGE(rc == 0, out);
}

}  // namespace
}  // namespace vigil::syncd
