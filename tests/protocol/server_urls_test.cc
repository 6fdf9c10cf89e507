// The rules for a deployment's server URLs, the same on syncd and on the device
// (vigil/protocol/server_urls.h, docs/protocol.md §5.1).
#include "vigil/protocol/server_urls.h"

#include <doctest/doctest.h>

namespace vigil::protocol {
namespace {

TEST_CASE("server URLs: what is accepted") {
  for (const char* url :
       {"https://vigil.example", "https://vigil.example:8443", "https://10.0.0.2:443",
        "https://192.0.2.7:65535", "https://[2001:db8::1]:8443", "https://[::1]",
        "https://node-1.syncd.vigil.example"}) {
    CAPTURE(url);
    CHECK(CheckServerUrl(url).ok());
  }
  // Exactly the longest: 256 bytes.
  const std::string longest = "https://" + std::string(60, 'a') + "." + std::string(60, 'b') + "." +
                              std::string(60, 'c') + "." + std::string(60, 'd') + ".efgh";
  CHECK(longest.size() == kMaxServerUrlBytes);
  CHECK(CheckServerUrl(longest).ok());
  CHECK(CheckServerUrl(longest + "i").code() == StatusCode::kInvalidArgument);

  std::vector<std::string> sixteen;
  for (int i = 0; i < 16; ++i) sixteen.push_back("https://n" + std::to_string(i) + ".example");
  CHECK(CheckServerUrls(sixteen).ok());
  sixteen.push_back("https://n16.example");
  CHECK(CheckServerUrls(sixteen).message().find("at most 16") != std::string::npos);
}

TEST_CASE("server URLs: what is refused, each naming the URL") {
  for (const char* url :
       {"http://vigil.example", "HTTPS://vigil.example", "https://", "https://vigil.example/",
        "https://vigil.example/sync", "https://vigil.example?x=1", "https://vigil.example#f",
        "https://me@vigil.example", "https://vigil.example:", "https://vigil.example:0",
        "https://vigil.example:65536", "https://vigil.example:80a", "https://vigil .example",
        "https://-vigil.example", "https://vigil..example", "https://[2001:db8::1",
        "https://[vigil]:443", "ftp://vigil.example", "vigil.example:8443"}) {
    CAPTURE(url);
    Status s = CheckServerUrl(url);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(s.message().find(std::string("'") + url + "'") != std::string::npos);
  }
  CHECK(CheckServerUrl("").code() == StatusCode::kInvalidArgument);
  CHECK(CheckServerUrls({}).code() == StatusCode::kInvalidArgument);
  Status twice =
      CheckServerUrls({"https://a.example:1", "https://b.example", "https://A.example:1"});
  CHECK(twice.message().find("'https://A.example:1': listed twice") != std::string::npos);
}

TEST_CASE("server URLs: stored one per line and read back in order") {
  const std::vector<std::string> urls = {"https://b.example", "https://a.example:8443"};
  CHECK(JoinServerUrls(urls) == "https://b.example\nhttps://a.example:8443");
  CHECK(SplitServerUrls(JoinServerUrls(urls)) == urls);
  CHECK(SplitServerUrls("https://b.example\n\nhttps://a.example:8443\n") == urls);
  CHECK(SplitServerUrls("").empty());
}

}  // namespace
}  // namespace vigil::protocol
