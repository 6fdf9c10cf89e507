// Limits that protect syncd from floods (docs/operations.md §5): the per-address rate on the
// device endpoints, checked before anything else, and the pause after repeated failed
// enrollments from one address.
#include <doctest/doctest.h>

#include "test_util.h"

namespace vigil::syncd {
namespace {

using testing::ErrorOf;
using testing::TestDevice;
using testing::TestServer;

HttpRequest From(const std::string& address, const std::string& target, std::string body) {
  HttpRequest request("POST", target, std::move(body));
  request.remote_address = address;
  return request;
}

TEST_CASE("limits: one client address is limited before its requests are even decoded") {
  RouterOptions options;
  options.rate_per_address_per_s = 1;
  options.address_burst = 3;
  TestServer server(options);
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = server.router().Handle(From("192.0.2.7", "/v1/push", "junk"));
    CHECK(r.status == 400);  // Malformed, but counted.
  }
  HttpResponse limited = server.router().Handle(From("192.0.2.7", "/v1/push", "junk"));
  CHECK(limited.status == 429);
  CHECK(ErrorOf(limited).code() == v1::RATE_LIMITED);
  CHECK(ErrorOf(limited).retryable());
  // Another address is not held up.
  CHECK(server.router().Handle(From("192.0.2.8", "/v1/push", "junk")).status == 400);
}

TEST_CASE("limits: repeated wrong enrollment codes from one address pause enrollment there") {
  RouterOptions options;
  options.enroll_failures_per_address = 3;
  TestServer server(options);
  Result<protocol::Ed25519PrivateKey> key = protocol::Ed25519PrivateKey::Generate();
  REQUIRE(key.ok());
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = server.router().Handle(From(
        "192.0.2.9", "/v1/enroll", TestDevice::EnrollBody(*key, "guess-" + std::to_string(i))));
    CHECK(r.status == 403);
    CHECK(ErrorOf(r).code() == v1::ENROLLMENT_CODE_INVALID);
  }
  // Even a valid code waits now, from that address …
  const std::string code = server.IssueCode();
  HttpResponse paused =
      server.router().Handle(From("192.0.2.9", "/v1/enroll", TestDevice::EnrollBody(*key, code)));
  CHECK(paused.status == 429);
  CHECK(ErrorOf(paused).code() == v1::RATE_LIMITED);
  // … and the code is not spent: another address enrolls with it.
  HttpResponse ok =
      server.router().Handle(From("192.0.2.10", "/v1/enroll", TestDevice::EnrollBody(*key, code)));
  CHECK(ok.status == 200);
}

}  // namespace
}  // namespace vigil::syncd
