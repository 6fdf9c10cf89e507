// The deployment's server URLs (admin/server_urls.h, docs/protocol.md §5.1): stored only when
// the whole list is valid, carried by enrollment payloads and by every pull answer.
#include "admin/server_urls.h"

#include <doctest/doctest.h>

#include "admin/admin.h"
#include "test_util.h"
#include "vigil/protocol/crypto.h"

namespace vigil::syncd {
namespace {

using testing::TestDevice;
using testing::TestServer;

// The server URLs of a pull answer to `device` (a new nonce each time).
std::vector<std::string> PulledUrls(TestServer& server, const TestDevice& device, char nonce) {
  HttpResponse r = server.Post("/v1/pull", device.PullBody(0, std::string(16, nonce)));
  REQUIRE(r.status == 200);
  v1::PullResponse pull;
  REQUIRE(pull.ParseFromString(r.body));
  return {pull.server_urls().begin(), pull.server_urls().end()};
}

TEST_CASE("server urls: a valid list is stored in order and replaced whole; a bad one not at all") {
  TestServer server;
  CHECK(GetServerUrls(server.store()).value().empty());
  const std::vector<std::string> two = {"https://node-a.vigil.example:8443",
                                        "https://10.0.0.2:8443"};
  REQUIRE(SetServerUrls(server.store(), two).ok());
  CHECK(GetServerUrls(server.store()).value() == two);

  const std::vector<std::string> three = {"https://node-c.vigil.example",
                                          "https://[2001:db8::1]:443",
                                          "https://node-a.vigil.example:8443"};
  REQUIRE(SetServerUrls(server.store(), three).ok());
  CHECK(GetServerUrls(server.store()).value() == three);

  // Each refusal names the bad URL, and the stored list stays as it was.
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{}, "empty"},
      {{"http://node-a.vigil.example:8443"}, "'http://node-a.vigil.example:8443'"},
      {{"https://node-a.vigil.example", "https://NODE-A.vigil.example"},
       "'https://NODE-A.vigil.example': listed twice"},
      {{"https://node-a.vigil.example/v1"}, "'https://node-a.vigil.example/v1'"},
      {{"https://node-a.vigil.example:0"}, "port"},
      {{"https://node-a.vigil.example:99999"}, "port"},
      {{"https://user@node-a.vigil.example"}, "user"},
      {{"https://node a.vigil.example"}, "host"},
      {{"https://" + std::string(250, 'a') + ".example"}, "at most 256"},
      {std::vector<std::string>(17, "https://a.example"), "at most 16"},
  };
  for (const auto& [urls, why] : bad) {
    CAPTURE(why);
    Status refused = SetServerUrls(server.store(), urls);
    CHECK(refused.code() == StatusCode::kInvalidArgument);
    CHECK(refused.message().find(why) != std::string::npos);
  }
  CHECK(GetServerUrls(server.store()).value() == three);
}

TEST_CASE("server urls: every pull answer carries the list once it is set, and its changes") {
  TestServer server;
  TestDevice device = server.Enroll();
  CHECK(PulledUrls(server, device, 'a').empty());  // None set: the field stays empty.

  const std::vector<std::string> first = {"https://node-a.vigil.example:8443",
                                          "https://node-b.vigil.example:8443"};
  REQUIRE(SetServerUrls(server.store(), first).ok());
  CHECK(PulledUrls(server, device, 'b') == first);
  CHECK(PulledUrls(server, device, 'c') == first);  // Every answer, not only the next one.

  const std::vector<std::string> second = {"https://node-c.vigil.example:8443"};
  REQUIRE(SetServerUrls(server.store(), second).ok());
  CHECK(PulledUrls(server, device, 'd') == second);
}

TEST_CASE("server urls: the enrollment payload carries the list, server_url its first") {
  const std::string pin(32, '\x07');
  const std::vector<std::string> urls = {"https://node-a.vigil.example:8443",
                                         "https://node-b.vigil.example:8443"};
  v1::EnrollmentPayload payload;
  REQUIRE(payload.ParseFromString(
      protocol::Base64UrlDecode(MakeEnrollmentPayload(urls, pin, "c0de")).value()));
  CHECK(payload.server_url() == urls[0]);
  REQUIRE(payload.server_urls_size() == 2);
  CHECK(payload.server_urls(0) == urls[0]);
  CHECK(payload.server_urls(1) == urls[1]);
  CHECK(payload.tls_pin() == pin);
  CHECK(payload.code() == "c0de");

  // An address given for one enrollment goes first, the others keep their order once each.
  CHECK(EnrollmentUrls(urls, "") == urls);
  CHECK(EnrollmentUrls(urls, urls[1]) == std::vector<std::string>{urls[1], urls[0]});
  CHECK(EnrollmentUrls(urls, "https://lan.example:8443") ==
        std::vector<std::string>{"https://lan.example:8443", urls[0], urls[1]});
  CHECK(EnrollmentUrls({}, "").empty());
}

}  // namespace
}  // namespace vigil::syncd
