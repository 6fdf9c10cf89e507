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

TEST_CASE("garbage is 400") {
  TestServer server;
  HttpResponse r = server.Post("/v1/enroll", "\x0a\xff\xff\xff");
  CHECK(r.status == 400);
  CHECK(ErrorOf(r).code() == v1::MALFORMED);
}

}  // namespace
}  // namespace vigil::syncd
