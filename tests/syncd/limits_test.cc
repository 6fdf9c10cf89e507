// Limits that protect syncd from floods (docs/operations.md §5): the per-address rate on the
// device endpoints, checked before anything else, and the pause after repeated failed
// enrollments from one address.
#include <doctest/doctest.h>

#include "ingest/failure_limiter.h"
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

TEST_CASE("limits: enrollment pauses after 20 failed codes from an address, and only codes count") {
  TestServer server;  // The defaults: 20 failures per address in 15 minutes.
  const std::string address = "192.0.2.11";
  auto enroll = [&](const std::string& body) {
    return server.router().Handle(From(address, "/v1/enroll", body));
  };
  Result<protocol::Ed25519PrivateKey> key = protocol::Ed25519PrivateKey::Generate();
  REQUIRE(key.ok());
  for (int i = 0; i < 19; ++i) {
    CHECK(enroll(TestDevice::EnrollBody(*key, "guess-" + std::to_string(i))).status == 403);
  }
  // Refusals that are not about the code do not count: a proof that does not verify, one of
  // the wrong length, a key already enrolled, garbage.
  Result<protocol::Ed25519PrivateKey> other = protocol::Ed25519PrivateKey::Generate();
  REQUIRE(other.ok());
  v1::EnrollRequest forged;
  REQUIRE(forged.ParseFromString(TestDevice::EnrollBody(*key, server.IssueCode())));
  forged.set_public_key(other->public_key().raw());
  for (int i = 0; i < 5; ++i) CHECK(enroll(forged.SerializeAsString()).status == 401);
  forged.set_proof("short");
  CHECK(enroll(forged.SerializeAsString()).status == 400);
  testing::TestDevice enrolled = server.Enroll();
  CHECK(enroll(TestDevice::EnrollBody(*enrolled.key, server.IssueCode())).status == 400);
  CHECK(enroll("\xff\xff").status == 400);
  CHECK(enroll(TestDevice::EnrollBody(*key, server.IssueCode())).status == 200);

  // The 20th failed code; then even a valid code waits, with a retryable 429.
  CHECK(enroll(TestDevice::EnrollBody(*other, "guess-19")).status == 403);
  HttpResponse paused = enroll(TestDevice::EnrollBody(*other, server.IssueCode()));
  CHECK(paused.status == 429);
  CHECK(ErrorOf(paused).code() == v1::RATE_LIMITED);
  CHECK(ErrorOf(paused).retryable());
  CHECK(ErrorOf(paused).message() == "too many failed enrollments from " + address +
                                         "; ask the coordinator for a new code and retry later");
  // Coordinators see it: an alert naming the address (the writer's queue is flushed first by
  // a synchronous job behind it).
  (void)server.store().SetCoordinatorDisabled("(nobody)", true);
  v1::AlertPage alerts = server.store().AlertPage("RATE_LIMITED", {}).value();
  REQUIRE(alerts.alerts_size() == 1);
  CHECK(alerts.alerts(0).detail().find(address) != std::string::npos);
}

TEST_CASE("limits: the failure window starts at the first failure and ends 15 minutes later") {
  const RouterOptions defaults;
  const int64_t window = defaults.enroll_failure_window_ms;
  FailureLimiter limiter(defaults.enroll_failures_per_address, window);
  const int64_t t0 = 1'000'000;
  for (int i = 0; i < 19; ++i) limiter.Fail("a", t0 + i * 1000);
  CHECK(limiter.RetryAfterMs("a", t0 + 60'000) == 0);  // 19 failures: still allowed.
  limiter.Fail("a", t0 + 60'000);
  CHECK(limiter.RetryAfterMs("a", t0 + 60'000) == window - 60'000);
  CHECK(limiter.RetryAfterMs("a", t0 + window - 1) == 1);
  CHECK(limiter.RetryAfterMs("a", t0 + window) == 0);
  // A new window: one failure is far from the limit.
  limiter.Fail("a", t0 + window + 1);
  CHECK(limiter.RetryAfterMs("a", t0 + window + 2) == 0);
  CHECK(limiter.RetryAfterMs("b", t0) == 0);
}

}  // namespace
}  // namespace vigil::syncd
