// Enrollment: one-time, expiring codes checked by hash; proof of the new key.
#include <doctest/doctest.h>

#include "test_util.h"

namespace vigil::syncd {
namespace {

using testing::ErrorOf;
using testing::TestDevice;
using testing::TestServer;

protocol::Ed25519PrivateKey NewKey() { return protocol::Ed25519PrivateKey::Generate().value(); }

TEST_CASE("enrollment returns device id and server id and receipt key and assignment and forms") {
  TestServer server;
  protocol::Ed25519PrivateKey key = NewKey();
  HttpResponse r = server.Post("/v1/enroll", TestDevice::EnrollBody(key, server.IssueCode()));
  REQUIRE(r.status == 200);
  v1::EnrollResponse enrolled;
  REQUIRE(enrolled.ParseFromString(r.body));
  CHECK(enrolled.device_id() == protocol::DeviceIdFromPublicKey(key.public_key().raw()));
  CHECK(enrolled.server_id() == testing::kServerId);
  CHECK(enrolled.receipt_public_key() == server.receipt_key().public_key().raw());
  CHECK(enrolled.assignment().observer_id() == "obs1");
  CHECK(enrolled.assignment().observer_name() == "Sok");
  REQUIRE(enrolled.assignment().stations_size() == 1);
  CHECK(enrolled.assignment().stations(0).code() == testing::kStation);
  CHECK(enrolled.forms_size() == 1);
  Result<std::optional<DeviceRecord>> device = server.store().FindDevice(enrolled.device_id());
  REQUIRE(device.ok());
  REQUIRE(device->has_value());
  CHECK((*device)->public_key == key.public_key().raw());
  CHECK((*device)->active);
}

TEST_CASE("a code works once but the same key may repeat its enrollment") {
  TestServer server;
  std::string code = server.IssueCode();
  protocol::Ed25519PrivateKey key = NewKey();
  HttpResponse first = server.Post("/v1/enroll", TestDevice::EnrollBody(key, code));
  REQUIRE(first.status == 200);
  HttpResponse retry = server.Post("/v1/enroll", TestDevice::EnrollBody(key, code));
  REQUIRE(retry.status == 200);
  CHECK(retry.body == first.body);
  HttpResponse again = server.Post("/v1/enroll", TestDevice::EnrollBody(NewKey(), code));
  CHECK(again.status == 403);
  CHECK(ErrorOf(again).code() == v1::ENROLLMENT_CODE_INVALID);
  CHECK(ErrorOf(again).message() == "enrollment code was already used");
}

TEST_CASE("an expired code is refused") {
  TestServer server;
  HttpResponse r =
      server.Post("/v1/enroll", TestDevice::EnrollBody(NewKey(), server.IssueCode(-1000)));
  CHECK(r.status == 403);
  CHECK(ErrorOf(r).code() == v1::ENROLLMENT_CODE_INVALID);
  CHECK(ErrorOf(r).message() == "enrollment code has expired");
}

TEST_CASE("an unknown code is refused") {
  TestServer server;
  HttpResponse r = server.Post("/v1/enroll", TestDevice::EnrollBody(NewKey(), "made-up"));
  CHECK(r.status == 403);
  CHECK(ErrorOf(r).code() == v1::ENROLLMENT_CODE_INVALID);
}

TEST_CASE("the proof must be the new key's signature over the code and key") {
  TestServer server;
  protocol::Ed25519PrivateKey key = NewKey();
  std::string code = server.IssueCode();
  v1::EnrollRequest request;
  REQUIRE(request.ParseFromString(TestDevice::EnrollBody(key, code)));
  request.set_public_key(NewKey().public_key().raw());
  HttpResponse r = server.Post("/v1/enroll", request.SerializeAsString());
  CHECK(r.status == 401);
  CHECK(ErrorOf(r).code() == v1::BAD_SIGNATURE);
  // The code was not spent by the failed attempt.
  CHECK(server.Post("/v1/enroll", TestDevice::EnrollBody(key, code)).status == 200);
}

TEST_CASE("a proof that is not 64 bytes is 400 MALFORMED and spends nothing") {
  TestServer server;
  protocol::Ed25519PrivateKey key = NewKey();
  std::string code = server.IssueCode();
  v1::EnrollRequest request;
  REQUIRE(request.ParseFromString(TestDevice::EnrollBody(key, code)));
  const std::string proof = request.proof();
  for (const std::string& wrong : {std::string(), proof.substr(0, 63), proof + "x"}) {
    CAPTURE(wrong.size());
    request.set_proof(wrong);
    HttpResponse r = server.Post("/v1/enroll", request.SerializeAsString());
    CHECK(r.status == 400);
    CHECK(ErrorOf(r).code() == v1::MALFORMED);
    CHECK(ErrorOf(r).message() ==
          "enrollment proof is " + std::to_string(wrong.size()) + " bytes, not 64");
  }
  // 64 bytes that do not verify: a bad signature.
  std::string flipped = proof;
  flipped[0] = static_cast<char>(flipped[0] ^ 1);
  request.set_proof(flipped);
  HttpResponse bad = server.Post("/v1/enroll", request.SerializeAsString());
  CHECK(bad.status == 401);
  CHECK(ErrorOf(bad).code() == v1::BAD_SIGNATURE);
  CHECK(ErrorOf(bad).message() == "enrollment proof does not verify");
  // A key that is not 32 bytes is malformed too.
  v1::EnrollRequest short_key;
  REQUIRE(short_key.ParseFromString(TestDevice::EnrollBody(key, code)));
  short_key.mutable_public_key()->pop_back();
  HttpResponse no_key = server.Post("/v1/enroll", short_key.SerializeAsString());
  CHECK(no_key.status == 400);
  CHECK(ErrorOf(no_key).message() == "public_key is not an Ed25519 key");
  CHECK(server.Post("/v1/enroll", TestDevice::EnrollBody(key, code)).status == 200);
}

TEST_CASE("an enrolled key with a new code is 400 and the new code stays unspent") {
  TestServer server;
  testing::TestDevice device = server.Enroll();
  const std::string code = server.IssueCode();
  HttpResponse again = server.Post("/v1/enroll", TestDevice::EnrollBody(*device.key, code));
  CHECK(again.status == 400);
  CHECK(ErrorOf(again).code() == v1::MALFORMED);
  CHECK(ErrorOf(again).message() == "this public key is already enrolled");
  CHECK_FALSE(ErrorOf(again).retryable());
  // The device is as it was, and the code still enrolls another key.
  Result<std::optional<DeviceRecord>> found = server.store().FindDevice(device.device_id);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->active);
  CHECK(server.Post("/v1/enroll", TestDevice::EnrollBody(NewKey(), code)).status == 200);

  // A revoked device's key cannot come back with a new code either.
  REQUIRE(server.store().RevokeDevice(device.device_id, "seized", "test").ok());
  HttpResponse revoked =
      server.Post("/v1/enroll", TestDevice::EnrollBody(*device.key, server.IssueCode()));
  CHECK(revoked.status == 400);
  CHECK(ErrorOf(revoked).message() == "this public key is already enrolled");
}

TEST_CASE("garbage is 400") {
  TestServer server;
  HttpResponse r = server.Post("/v1/enroll", "\x0a\xff\xff\xff");
  CHECK(r.status == 400);
  CHECK(ErrorOf(r).code() == v1::MALFORMED);
}

}  // namespace
}  // namespace vigil::syncd
