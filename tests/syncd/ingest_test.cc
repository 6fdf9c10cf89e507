// The push pipeline through the pure router (no sockets): every check of docs/architecture.md §4
// step 5 with its HTTP status and Error code.
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>

#include "ingest/checks.h"
#include "ingest/rate_limiter.h"
#include "records/record_rules.h"
#include "test_util.h"

namespace vigil::syncd {
namespace {

using testing::ErrorOf;
using testing::MakeSubmission;
using testing::TestDevice;
using testing::TestServer;

constexpr const char* kId1 = "00000000-0000-4000-8000-000000000001";
constexpr const char* kId2 = "00000000-0000-4000-8000-000000000002";
constexpr const char* kId3 = "00000000-0000-4000-8000-000000000003";

v1::PushResponse Accepted(const HttpResponse& response) {
  REQUIRE(response.status == 200);
  v1::PushResponse push;
  REQUIRE(push.ParseFromString(response.body));
  return push;
}

TEST_CASE("an accepted batch gets a receipt signed by the server key and a status per record") {
  TestServer server;
  TestDevice device = server.Enroll();
  std::string body = device.NextBody({MakeSubmission(kId1), MakeSubmission(kId2)});
  v1::PushResponse push = Accepted(server.Post("/v1/push", body));
  REQUIRE(push.statuses_size() == 2);
  CHECK(push.statuses(0).outcome() == v1::RECORD_OK);
  CHECK(push.statuses(1).outcome() == v1::RECORD_OK);
  CHECK(server.receipt_key().public_key().Verify(
      protocol::SignatureInput(protocol::kReceiptLabel, testing::kServerId,
                               push.receipt().receipt_bytes()),
      push.receipt().signature()));
  v1::Receipt receipt;
  REQUIRE(receipt.ParseFromString(push.receipt().receipt_bytes()));
  CHECK(receipt.server_id() == testing::kServerId);
  CHECK(receipt.device_id() == device.device_id);
  CHECK(receipt.batch_seq() == 1);
  CHECK(receipt.batch_hash() == device.last_hash);
  CHECK(receipt.log_index() == 1);
  CHECK(receipt.record_count() == 2);
}

TEST_CASE("a replayed batch gets the very same answer and stores nothing twice") {
  TestServer server;
  TestDevice device = server.Enroll();
  std::string body = device.NextBody({MakeSubmission(kId1)});
  HttpResponse first = server.Post("/v1/push", body);
  HttpResponse again = server.Post("/v1/push", body);
  REQUIRE(first.status == 200);
  REQUIRE(again.status == 200);
  CHECK(again.body == first.body);
  Result<v1::ServerStats> stats = server.store().Stats();
  REQUIRE(stats.ok());
  CHECK(stats->batches() == 1);
  CHECK(stats->records() == 1);
}

TEST_CASE("forged requests naming a real device do not spend its rate allowance") {
  RouterOptions options;
  options.rate_per_device_per_s = 0.001;
  options.rate_burst = 2;
  TestServer server(options);
  TestDevice device = server.Enroll();
  std::string bytes = device.BatchBytes({MakeSubmission(kId1)}, 1, protocol::GenesisHash());
  for (int i = 0; i < 10; ++i) {
    CHECK(server.Post("/v1/push", device.SignFor(bytes, "forger-elsewhere")).status == 401);
  }
  // The device's own two requests still go through; the third is over its burst.
  CHECK(server.Post("/v1/push", device.NextBody({MakeSubmission(kId1)})).status == 200);
  CHECK(server.Post("/v1/push", device.NextBody({MakeSubmission(kId2)})).status == 200);
  CHECK(server.Post("/v1/push", device.NextBody({MakeSubmission(kId3)})).status == 429);
}

TEST_CASE("refusals in order: size then decode then device then rate then signature") {
  RouterOptions options;
  options.max_body_bytes = 4096;
  options.rate_per_device_per_s = 0.001;
  options.rate_burst = 3;
  TestServer server(options);
  TestDevice device = server.Enroll();

  SUBCASE("413 TOO_LARGE before anything else") {
    HttpResponse r = server.Post("/v1/push", std::string(5000, 'x'));
    CHECK(r.status == 413);
    CHECK(ErrorOf(r).code() == v1::TOO_LARGE);
  }
  SUBCASE("400 MALFORMED for garbage") {
    HttpResponse r = server.Post("/v1/push", "\xff\xff\xff garbage");
    CHECK(r.status == 400);
    CHECK(ErrorOf(r).code() == v1::MALFORMED);
    CHECK_FALSE(ErrorOf(r).retryable());
  }
  SUBCASE("403 UNKNOWN_DEVICE") {
    TestDevice stranger = server.Enroll();
    stranger.device_id = "not-a-device";
    HttpResponse r = server.Post("/v1/push", stranger.NextBody({MakeSubmission(kId1)}));
    CHECK(r.status == 403);
    CHECK(ErrorOf(r).code() == v1::UNKNOWN_DEVICE);
  }
  SUBCASE("403 DEVICE_REVOKED") {
    REQUIRE(server.store().RevokeDevice(device.device_id, "seized", "test").ok());
    HttpResponse r = server.Post("/v1/push", device.NextBody({MakeSubmission(kId1)}));
    CHECK(r.status == 403);
    CHECK(ErrorOf(r).code() == v1::DEVICE_REVOKED);
  }
  SUBCASE("429 RATE_LIMITED after the burst, retryable") {
    std::string body = device.NextBody({MakeSubmission(kId1)});
    for (int i = 0; i < 3; ++i) CHECK(server.Post("/v1/push", body).status == 200);
    HttpResponse r = server.Post("/v1/push", body);
    CHECK(r.status == 429);
    CHECK(ErrorOf(r).code() == v1::RATE_LIMITED);
    CHECK(ErrorOf(r).retryable());
  }
  SUBCASE("401 BAD_SIGNATURE for one flipped byte of the batch") {
    std::string bytes = device.BatchBytes({MakeSubmission(kId1)}, 1, protocol::GenesisHash());
    v1::SignedBatch signed_batch;
    REQUIRE(signed_batch.ParseFromString(device.Sign(bytes)));
    std::string tampered = bytes;
    tampered.back() = static_cast<char>(tampered.back() ^ 1);
    signed_batch.set_batch_bytes(tampered);
    HttpResponse r = server.Post("/v1/push", signed_batch.SerializeAsString());
    CHECK(r.status == 401);
    CHECK(ErrorOf(r).code() == v1::BAD_SIGNATURE);
  }
  SUBCASE("401 BAD_SIGNATURE when signed for another deployment") {
    std::string bytes = device.BatchBytes({MakeSubmission(kId1)}, 1, protocol::GenesisHash());
    HttpResponse r = server.Post("/v1/push", device.SignFor(bytes, "training-server"));
    CHECK(r.status == 401);
  }
}

TEST_CASE("sequence rules: gap and chain mismatch and equivocation") {
  TestServer server;
  TestDevice device = server.Enroll();
  REQUIRE(server.Post("/v1/push", device.NextBody({MakeSubmission(kId1)})).status == 200);
  const std::string hash1 = device.last_hash;

  SUBCASE("a skipped seq gives 409 SEQUENCE_GAP with the expected seq") {
    std::string bytes = device.BatchBytes({MakeSubmission(kId2)}, 3, hash1);
    HttpResponse r = server.Post("/v1/push", device.Sign(bytes));
    CHECK(r.status == 409);
    CHECK(ErrorOf(r).code() == v1::SEQUENCE_GAP);
    CHECK(ErrorOf(r).expected_seq() == 2);
  }
  SUBCASE("a wrong prev hash gives 409 CHAIN_MISMATCH") {
    std::string bytes = device.BatchBytes({MakeSubmission(kId2)}, 2, protocol::GenesisHash());
    HttpResponse r = server.Post("/v1/push", device.Sign(bytes));
    CHECK(r.status == 409);
    CHECK(ErrorOf(r).code() == v1::CHAIN_MISMATCH);
    CHECK(ErrorOf(r).expected_seq() == 2);
  }
  SUBCASE("other bytes for seq 1 are an equivocation: refused, kept and counted") {
    std::string other = device.BatchBytes({MakeSubmission(kId2)}, 1, protocol::GenesisHash());
    HttpResponse r = server.Post("/v1/push", device.Sign(other));
    CHECK(r.status == 409);
    CHECK(ErrorOf(r).code() == v1::EQUIVOCATION);
    CHECK(server.Post("/v1/push", device.Sign(other)).status == 409);
    Result<v1::ServerStats> stats = server.store().Stats();
    REQUIRE(stats.ok());
    CHECK(stats->equivocations() == 1);
    CHECK(stats->batches() == 1);
    CHECK(stats->records() == 1);
    // The chain still continues from the accepted batch 1.
    CHECK(server.Post("/v1/push", device.NextBody({MakeSubmission(kId3)})).status == 200);
  }
}

TEST_CASE("records are idempotent by id and unknown forms are rejected inside an accepted batch") {
  TestServer server;
  TestDevice device = server.Enroll();
  REQUIRE(server.Post("/v1/push", device.NextBody({MakeSubmission(kId1, 5)})).status == 200);
  v1::PushResponse push = Accepted(server.Post(
      "/v1/push",
      device.NextBody({MakeSubmission(kId1, 5), MakeSubmission(kId1, 6),
                       MakeSubmission(kId2, 1, "opening", 9), MakeSubmission(kId3, 1)})));
  REQUIRE(push.statuses_size() == 4);
  CHECK(push.statuses(0).outcome() == v1::RECORD_DUPLICATE);
  CHECK(push.statuses(1).outcome() == v1::RECORD_REJECTED);
  CHECK(push.statuses(1).reason() == "record id already used with other content");
  CHECK(push.statuses(2).outcome() == v1::RECORD_REJECTED);
  CHECK(push.statuses(2).reason().find("unknown form version") != std::string::npos);
  CHECK(push.statuses(3).outcome() == v1::RECORD_OK);
  Result<v1::ServerStats> stats = server.store().Stats();
  REQUIRE(stats.ok());
  CHECK(stats->batches() == 2);
  CHECK(stats->records() == 2);
  CHECK(stats->rejections_size() == 2);
}

TEST_CASE("a re-enrolled device resending its records gets duplicates and nothing doubles") {
  TestServer server;
  TestDevice lost = server.Enroll();
  REQUIRE(
      server.Post("/v1/push", lost.NextBody({MakeSubmission(kId1), MakeSubmission(kId2)})).status ==
      200);
  TestDevice fresh = server.Enroll();
  v1::PushResponse push = Accepted(server.Post(
      "/v1/push",
      fresh.NextBody({MakeSubmission(kId1), MakeSubmission(kId2), MakeSubmission(kId3)})));
  REQUIRE(push.statuses_size() == 3);
  CHECK(push.statuses(0).outcome() == v1::RECORD_DUPLICATE);
  CHECK(push.statuses(1).outcome() == v1::RECORD_DUPLICATE);
  CHECK(push.statuses(2).outcome() == v1::RECORD_OK);
  CHECK(server.store().Stats()->records() == 3);
}

TEST_CASE("an accepted seq whose payload does not decode is 400 and not stored") {
  TestServer server;
  TestDevice device = server.Enroll();
  v1::Batch batch;
  batch.set_device_id(device.device_id);
  batch.set_batch_seq(1);
  batch.set_prev_batch_hash(protocol::GenesisHash());
  batch.set_payload("not a record list");
  batch.set_uncompressed_size(17);
  batch.set_record_count(1);
  HttpResponse r = server.Post("/v1/push", device.Sign(batch.SerializeAsString()));
  CHECK(r.status == 400);
  CHECK(ErrorOf(r).code() == v1::MALFORMED);
  CHECK(server.store().FindDevice(device.device_id)->value().last_seq == 0);
}

TEST_CASE("unknown endpoints and methods") {
  TestServer server;
  CHECK(server.router().Handle({"GET", "/nope", ""}).status == 404);
  CHECK(server.router().Handle({"GET", "/v1/push", ""}).status == 405);
  CHECK(server.router().Handle({"GET", "/healthz", ""}).status == 200);
  server.router().SetDraining(true);
  CHECK(server.router().Handle({"GET", "/healthz", ""}).status == 503);
  HttpResponse metrics = server.router().Handle({"GET", "/metrics", ""});
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("syncd_writer_queue_depth") != std::string::npos);
}

TEST_CASE(
    "pull is signed and refuses a replayed nonce and answers forms and assignment and last "
    "receipt") {
  TestServer server;
  TestDevice device = server.Enroll();
  HttpResponse pushed = server.Post("/v1/push", device.NextBody({MakeSubmission(kId1)}));
  REQUIRE(pushed.status == 200);
  std::string nonce(16, 'n');
  HttpResponse r = server.Post("/v1/pull", device.PullBody(0, nonce));
  REQUIRE(r.status == 200);
  v1::PullResponse pull;
  REQUIRE(pull.ParseFromString(r.body));
  CHECK(pull.forms_size() == 1);
  CHECK(pull.next_cursor() == 1);
  CHECK(pull.assignment().stations_size() == 1);
  CHECK(pull.last_accepted_seq() == 1);
  CHECK(pull.last_accepted_hash() == device.last_hash);
  v1::PushResponse push;
  REQUIRE(push.ParseFromString(pushed.body));
  CHECK(pull.last_receipt().SerializeAsString() == push.receipt().SerializeAsString());

  HttpResponse replayed = server.Post("/v1/pull", device.PullBody(0, nonce));
  CHECK(replayed.status == 409);
  CHECK(ErrorOf(replayed).code() == v1::REPLAYED_PULL);

  HttpResponse later = server.Post("/v1/pull", device.PullBody(1, std::string(16, 'm')));
  REQUIRE(later.status == 200);
  REQUIRE(pull.ParseFromString(later.body));
  CHECK(pull.forms_size() == 0);
  CHECK(pull.next_cursor() == 1);

  v1::Broadcast message;
  (*message.mutable_text())["en"] = "Report by 17:00";
  REQUIRE(server.store().AddBroadcast(message).ok());
  HttpResponse news = server.Post("/v1/pull", device.PullBody(1, std::string(16, 'p')));
  REQUIRE(news.status == 200);
  REQUIRE(pull.ParseFromString(news.body));
  REQUIRE(pull.broadcasts_size() == 1);
  CHECK(pull.broadcasts(0).text().at("en") == "Report by 17:00");
  CHECK(pull.next_cursor() == 2);

  HttpResponse wrong = server.Post("/v1/pull", device.PullBody(0, std::string(16, 'o'), "x"));
  CHECK(wrong.status == 401);
}

TEST_CASE("concurrent batches for the same seq: the writer accepts one and the rest equivocate") {
  constexpr int kForks = 8;
  TestServer server;
  TestDevice device = server.Enroll();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<HttpResponse> answers;
  for (int i = 0; i < kForks; ++i) {
    std::string bytes = device.BatchBytes({MakeSubmission("fork-" + std::to_string(i))}, 1,
                                          protocol::GenesisHash());
    server.router().HandleAsync({"POST", "/v1/push", device.Sign(bytes)}, [&](HttpResponse r) {
      std::lock_guard lock(mu);
      answers.push_back(std::move(r));
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return answers.size() == kForks; }));
  int accepted = 0;
  int equivocations = 0;
  for (const HttpResponse& r : answers) {
    if (r.status == 200) ++accepted;
    if (r.status == 409 && ErrorOf(r).code() == v1::EQUIVOCATION) ++equivocations;
  }
  CHECK(accepted == 1);
  CHECK(equivocations == kForks - 1);
  CHECK(server.store().Stats()->equivocations() == kForks - 1);
}

TEST_CASE("record rules are pure") {
  RecordFacts facts = DescribeRecord(MakeSubmission(kId1)).value();
  CHECK(DecideRecord(facts, std::nullopt, true).outcome() == v1::RECORD_OK);
  CHECK(DecideRecord(facts, facts.content_hash, false).outcome() == v1::RECORD_DUPLICATE);
  CHECK(DecideRecord(facts, std::string(32, 'x'), true).outcome() == v1::RECORD_REJECTED);
  CHECK(DecideRecord(facts, std::nullopt, false).outcome() == v1::RECORD_REJECTED);
  CHECK_FALSE(DescribeRecord(v1::Record()).ok());
}

TEST_CASE("the rate limiter refills over time") {
  RateLimiter limiter(10, 2);
  CHECK(limiter.Allow("d", 0));
  CHECK(limiter.Allow("d", 0));
  CHECK_FALSE(limiter.Allow("d", 0));
  CHECK(limiter.Allow("d", 100));
  CHECK(limiter.Allow("other", 0));
}

}  // namespace
}  // namespace vigil::syncd
