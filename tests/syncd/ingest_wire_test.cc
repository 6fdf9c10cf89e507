// What a push answers on the wire, through the real Router (no sockets): the claims of
// docs/protocol.md §3 (strings and record ids), §8.1 (rates), §9 (log_index) and §12 (each
// error code's HTTP status and retry flag).
#include <doctest/doctest.h>

#include <iterator>

#include "ingest/rate_limiter.h"
#include "ingest/refusal.h"
#include "test_util.h"

namespace vigil::syncd {
namespace {

using testing::ErrorOf;
using testing::MakeSubmission;
using testing::TestDevice;
using testing::TestServer;

constexpr const char* kId1 = "00000000-0000-4000-8000-000000000001";
constexpr const char* kId2 = "00000000-0000-4000-8000-000000000002";

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
