// The socket-free parts of the HTTPS front: listen addresses, TLS files, connection limits.
#include "http/server.h"

#include <doctest/doctest.h>

#include "http/connection_limits.h"
#include "test_util.h"
#include "tls/cert.h"

namespace vigil::syncd {
namespace {

TEST_CASE("listen addresses") {
  CHECK(ParseListenAddress("127.0.0.1:443").value() ==
        std::make_pair(std::string("127.0.0.1"), uint16_t{443}));
  CHECK(ParseListenAddress("[::1]:0").value().first == "::1");
  CHECK(ParseListenAddress(":0").value().first == "127.0.0.1");
  CHECK_FALSE(ParseListenAddress("127.0.0.1").ok());
  CHECK_FALSE(ParseListenAddress(std::string("127.0.0.1:") + "70000").ok());  // out of range
  CHECK_FALSE(ParseListenAddress("127.0.0.1:80x").ok());
}

TEST_CASE("connections are capped per IPv4 address and per IPv6 /64") {
  CHECK(ConnectionCapKey("192.0.2.7") == "192.0.2.7");
  CHECK(ConnectionCapKey("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(ConnectionCapKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
  CHECK(ConnectionCapKey("2001:db8:1:2::1") == ConnectionCapKey("2001:db8:1:2:ffff::9"));
  CHECK(ConnectionCapKey("2001:db8:1:3::1") != ConnectionCapKey("2001:db8:1:2::1"));
  CHECK(ConnectionCapKey("::1") == "::/64");
  CHECK(ConnectionCapKey("not an address") == "not an address");
}

TEST_CASE("--max-connections is lowered to what the open files limit allows, and says so") {
  std::string note;
  CHECK(ConnectionCap(20000, 20000, &note) == 19744);
  CHECK(note.find("lowered to 19744") != std::string::npos);
  CHECK(ConnectionCap(1000, 20000, &note) == 1000);
  CHECK(note.empty());
  CHECK(ConnectionCap(1000, 300, &note) == 150);  // A tiny limit: half of it.
}

TEST_CASE("a generated certificate has a stable 32-byte pin in curl's form") {
  testing::TempDir dir;
  std::string cert = dir.path() + "/cert.pem";
  std::string key = dir.path() + "/key.pem";
  REQUIRE(GenerateSelfSignedCert(cert, key).ok());
  Result<std::string> pin = PinOfCertFile(cert);
  REQUIRE(pin.ok());
  CHECK(pin->size() == 32);
  CHECK(PinOfCertFile(cert).value() == *pin);
  CHECK(PinForCurl(*pin).rfind("sha256//", 0) == 0);
  CHECK(PinForCurl(*pin).size() == 8 + 44);
  // Never overwrites.
  CHECK_FALSE(GenerateSelfSignedCert(cert, key).ok());
}

TEST_CASE("--no-tls is refused off loopback before anything listens") {
  testing::TestServer server;
  ServerOptions options;
  options.host = "0.0.0.0";
  options.port = 0;
  options.tls = false;
  Status status = RunServer(server.router(), options);
  CHECK(status.code() == StatusCode::kFailedPrecondition);
  CHECK(status.message().find("loopback") != std::string::npos);
}

}  // namespace
}  // namespace vigil::syncd
