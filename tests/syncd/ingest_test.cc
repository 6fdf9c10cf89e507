// The push pipeline through the pure router (no sockets): every check of ARCHITECTURE §4
// step 5 with its HTTP status and Error code.
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>

#include "ingest/checks.h"
#include "ingest/rate_limiter.h"
#include "ingest/record_rules.h"
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

// What docs/protocol.md §3, §8.1, §9 and §12 say of a push, through the real Router.
namespace vigil::syncd {
namespace {

using testing::ErrorOf;
using testing::MakeSubmission;
using testing::TestDevice;
using testing::TestServer;

// A Batch at `seq` on `prev_hash` whose plain payload is `payload` holding `count` records.
std::string BatchOf(const TestDevice& device, uint64_t seq, const std::string& prev_hash,
                    const std::string& payload, uint32_t count) {
  v1::Batch batch;
  batch.set_device_id(device.device_id);
  batch.set_batch_seq(seq);
  batch.set_prev_batch_hash(prev_hash);
  batch.set_compression(v1::COMPRESSION_NONE);
  batch.set_payload(payload);
  batch.set_uncompressed_size(payload.size());
  batch.set_record_count(count);
  return batch.SerializeAsString();
}

v1::Receipt ReceiptOf(const HttpResponse& response) {
  REQUIRE(response.status == 200);
  v1::PushResponse push;
  REQUIRE(push.ParseFromString(response.body));
  v1::Receipt receipt;
  REQUIRE(receipt.ParseFromString(push.receipt().receipt_bytes()));
  return receipt;
}

TEST_CASE("a record string that is not UTF-8 fails the whole batch with 400 and stores nothing") {
  TestServer server;
  TestDevice device = server.Enroll();
  v1::RecordList records;
  *records.add_records() = MakeSubmission("00000000-0000-4000-8000-000000000001");
  *records.add_records() = MakeSubmission("00000000-0000-4000-8000-000000000002");
  // The second record's station code ends in 0xFF, which is never UTF-8; the first is fine.
  const std::string station = testing::kStation;
  std::string payload = records.SerializeAsString();
  size_t second = payload.rfind(station);
  REQUIRE(second != std::string::npos);
  payload[second + station.size() - 1] = '\xff';

  HttpResponse r =
      server.Post("/v1/push", device.Sign(BatchOf(device, 1, protocol::GenesisHash(), payload, 2)));
  CHECK(r.status == 400);
  CHECK(ErrorOf(r).code() == v1::MALFORMED);
  CHECK(ErrorOf(r).message() == "batch payload: batch payload is not a RecordList");
  CHECK_FALSE(ErrorOf(r).retryable());
  Result<v1::ServerStats> stats = server.store().Stats();
  REQUIRE(stats.ok());
  CHECK(stats->batches() == 0);
  CHECK(stats->records() == 0);  // Not even the valid first record.
  CHECK(server.store().FindDevice(device.device_id)->value().last_seq == 0);

  // The chain did not move: a corrected batch under the same seq is accepted.
  CHECK(server.Post("/v1/push", device.NextBody({records.records(0), records.records(1)})).status ==
        200);
  CHECK(server.store().Stats()->records() == 2);
}

TEST_CASE("a record string that is not UTF-8 in a zstd payload fails the batch the same way") {
  TestServer server;
  TestDevice device = server.Enroll();
  v1::RecordList records;
  for (int i = 0; i < 20; ++i) {
    *records.add_records() = MakeSubmission("00000000-0000-4000-8000-0000000001" +
                                            std::to_string(i % 10) + std::to_string(i / 10));
  }
  // The first record's form id gets the byte 0xC0, which no UTF-8 string contains; the
  // records are framed as they are and compressed, as a device does.
  std::vector<std::string> serialized;
  for (const v1::Record& record : records.records()) {
    serialized.push_back(record.SerializeAsString());
  }
  size_t at = serialized[0].find("opening");
  REQUIRE(at != std::string::npos);
  serialized[0][at + 6] = '\xc0';
  v1::Batch batch;
  batch.set_device_id(device.device_id);
  batch.set_batch_seq(1);
  batch.set_prev_batch_hash(protocol::GenesisHash());
  REQUIRE(protocol::EncodePayloadFromSerialized(serialized, batch).ok());
  REQUIRE(batch.compression() == v1::COMPRESSION_ZSTD);
  HttpResponse r = server.Post("/v1/push", device.Sign(batch.SerializeAsString()));
  CHECK(r.status == 400);
  CHECK(ErrorOf(r).code() == v1::MALFORMED);
  CHECK(ErrorOf(r).message() == "batch payload: batch payload is not a RecordList");
  CHECK(server.store().Stats()->records() == 0);
}

TEST_CASE("a device id that is not UTF-8 makes batch_bytes unreadable: 400") {
  TestServer server;
  TestDevice device = server.Enroll();
  std::string bytes = device.BatchBytes({MakeSubmission("00000000-0000-4000-8000-000000000001")}, 1,
                                        protocol::GenesisHash());
  size_t at = bytes.find(device.device_id);
  REQUIRE(at != std::string::npos);
  bytes[at + 1] = '\xff';
  HttpResponse r = server.Post("/v1/push", device.Sign(bytes));
  CHECK(r.status == 400);
  CHECK(ErrorOf(r).code() == v1::MALFORMED);
  CHECK(ErrorOf(r).message() == "batch_bytes is not a Batch");
}

TEST_CASE("a refused record id is cut between characters so that the answer stays readable") {
  TestServer server;
  TestDevice device = server.Enroll();
  // 63 ASCII bytes and a two-byte character: 65 bytes, over the limit of 64; a cut at byte 64
  // would leave half of the character.
  const std::string long_id = std::string(63, 'a') + "\xc3\xa9";
  HttpResponse r = server.Post("/v1/push", device.NextBody({MakeSubmission(long_id)}));
  REQUIRE(r.status == 200);
  v1::PushResponse push;
  REQUIRE(push.ParseFromString(r.body));  // A proto3 parser refuses a cut character.
  REQUIRE(push.statuses_size() == 1);
  CHECK(push.statuses(0).record_id() == std::string(63, 'a'));
  CHECK(push.statuses(0).outcome() != v1::RECORD_OK);
  CHECK(push.statuses(0).outcome() != v1::RECORD_DUPLICATE);
  // The replayed answer is the same readable bytes.
  CHECK(server
            .Post("/v1/push", device.Sign(device.BatchBytes({MakeSubmission(long_id)}, 1,
                                                            protocol::GenesisHash())))
            .body == r.body);
}

TEST_CASE("log_index numbers the accepted batches of every device from 1 with no hole") {
  TestServer server;
  TestDevice a = server.Enroll();
  TestDevice b = server.Enroll();
  auto id = [](int n) { return "00000000-0000-4000-8000-00000000000" + std::to_string(n); };
  std::string a1 = a.NextBody({MakeSubmission(id(1))});
  CHECK(ReceiptOf(server.Post("/v1/push", a1)).log_index() == 1);
  CHECK(ReceiptOf(server.Post("/v1/push", b.NextBody({MakeSubmission(id(2))}))).log_index() == 2);
  // A replay, an equivocation and a gap take no position.
  CHECK(ReceiptOf(server.Post("/v1/push", a1)).log_index() == 1);
  CHECK(server
            .Post("/v1/push",
                  a.Sign(a.BatchBytes({MakeSubmission(id(3))}, 1, protocol::GenesisHash())))
            .status == 409);
  CHECK(server.Post("/v1/push", a.Sign(a.BatchBytes({MakeSubmission(id(3))}, 5, a.last_hash)))
            .status == 409);
  CHECK(ReceiptOf(server.Post("/v1/push", a.NextBody({MakeSubmission(id(4))}))).log_index() == 3);
  CHECK(ReceiptOf(server.Post("/v1/push", b.NextBody({MakeSubmission(id(5))}))).log_index() == 4);
  // A batch whose records are all refused still takes its position: the batch is stored.
  v1::Receipt refused_records =
      ReceiptOf(server.Post("/v1/push", b.NextBody({MakeSubmission(id(6), 1, "no_such_form")})));
  CHECK(refused_records.log_index() == 5);
}

TEST_CASE("every error code has the HTTP status and retry flag of docs/protocol.md §12") {
  struct Row {
    v1::ErrorCode code;
    int status;
    bool retryable;
  };
  // WRONG_SERVER is reserved and never sent; it keeps the status of MALFORMED.
  const Row rows[] = {
      {v1::MALFORMED, 400, false},      {v1::BAD_SIGNATURE, 401, false},
      {v1::UNKNOWN_DEVICE, 403, false}, {v1::DEVICE_REVOKED, 403, false},
      {v1::SEQUENCE_GAP, 409, false},   {v1::CHAIN_MISMATCH, 409, false},
      {v1::EQUIVOCATION, 409, false},   {v1::TOO_LARGE, 413, false},
      {v1::RATE_LIMITED, 429, true},    {v1::ENROLLMENT_CODE_INVALID, 403, false},
      {v1::REPLAYED_PULL, 409, false},  {v1::WRONG_SERVER, 400, false},
      {v1::UNAVAILABLE, 503, true},     {v1::INTERNAL, 500, true},
  };
  CHECK(std::size(rows) == v1::ErrorCode_ARRAYSIZE - 1);  // Every code but UNSPECIFIED.
  for (const Row& row : rows) {
    CAPTURE(ErrorCodeName(row.code));
    Refusal refusal = MakeRefusal(row.code, "why");
    CHECK(refusal.http_status == row.status);
    CHECK(refusal.error.code() == row.code);
    CHECK(refusal.error.retryable() == row.retryable);
  }
}

TEST_CASE("unknown paths and methods carry a MALFORMED Error and a short signature is 401") {
  TestServer server;
  HttpResponse none = server.router().Handle({"POST", "/v1/nope", "x"});
  CHECK(none.status == 404);
  CHECK(none.content_type == "application/x-protobuf");
  CHECK(ErrorOf(none).code() == v1::MALFORMED);
  CHECK(ErrorOf(none).message() == "no such endpoint");
  HttpResponse method = server.router().Handle({"GET", "/v1/pull", ""});
  CHECK(method.status == 405);
  CHECK(ErrorOf(method).code() == v1::MALFORMED);
  CHECK(ErrorOf(method).message() == "method GET not allowed on /v1/pull");

  TestDevice device = server.Enroll();
  v1::SignedBatch signed_batch;
  REQUIRE(signed_batch.ParseFromString(device.NextBody({MakeSubmission(kId1)})));
  signed_batch.mutable_signature()->pop_back();
  HttpResponse r = server.Post("/v1/push", signed_batch.SerializeAsString());
  CHECK(r.status == 401);
  CHECK(ErrorOf(r).code() == v1::BAD_SIGNATURE);
  CHECK(ErrorOf(r).message() == "signature is not 64 bytes");
  CHECK(ErrorOf(r).expected_seq() == 0);
}

TEST_CASE("default limits: 20 requests a second per device in bursts of 40, push and pull alike") {
  const RouterOptions defaults;
  CHECK(defaults.rate_per_device_per_s == 20);
  CHECK(defaults.rate_burst == 40);
  CHECK(defaults.rate_per_address_per_s == 1000);
  CHECK(defaults.address_burst == 2000);
  CHECK(defaults.enroll_failures_per_address == 20);
  CHECK(defaults.enroll_failure_window_ms == 15 * 60 * 1000);
  CHECK(defaults.max_body_bytes == (9u << 20));

  // The bucket those defaults make: 40 at once, then one every 50 ms.
  RateLimiter limiter(defaults.rate_per_device_per_s, defaults.rate_burst);
  for (int i = 0; i < 40; ++i) CHECK(limiter.Allow("d", 1000));
  CHECK_FALSE(limiter.Allow("d", 1000));
  CHECK_FALSE(limiter.Allow("d", 1049));
  CHECK(limiter.Allow("d", 1050));
  CHECK_FALSE(limiter.Allow("d", 1050));

  // Pushes and pulls of one device draw on one bucket.
  RouterOptions options;
  options.rate_per_device_per_s = 0.001;
  options.rate_burst = 2;
  TestServer server(options);
  TestDevice device = server.Enroll();
  CHECK(server.Post("/v1/push", device.NextBody({MakeSubmission(kId1)})).status == 200);
  CHECK(server.Post("/v1/pull", device.PullBody(0, std::string(16, 'a'))).status == 200);
  HttpResponse r = server.Post("/v1/pull", device.PullBody(0, std::string(16, 'b')));
  CHECK(r.status == 429);
  CHECK(ErrorOf(r).code() == v1::RATE_LIMITED);
  CHECK(server.Post("/v1/push", device.NextBody({MakeSubmission(kId2)})).status == 429);
}

}  // namespace
}  // namespace vigil::syncd
