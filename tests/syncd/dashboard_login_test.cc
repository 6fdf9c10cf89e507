// The dashboard's login and where its changes may come from (issue 11, docs/dashboard.md
// "Access"): the throttle as a unit with its own clock (growing delays, no lock of a name,
// the per-address ceiling, bounded memory), then through the Router: nobody locks a
// coordinator out from other addresses, one person's typos do not lock an office out, Origin
// and Sec-Fetch-Site refusals, JSON only, printable names, Strict-Transport-Security.
#include <doctest/doctest.h>

#include "dashboard/login_throttle.h"
#include "dashboard/password.h"
#include "dashboard/request_origin.h"
#include "dashboard_util.h"

namespace vigil::syncd {
namespace {

using dashboard::CheckRequestOrigin;
using dashboard::IsJsonContentType;
using dashboard::LoginThrottle;
using dashboard::LoginThrottleOptions;
using testing::DashboardServer;
using testing::FromJson;
using testing::HeaderOf;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;

std::string ErrorCode(const HttpResponse& response) {
  return FromJson<v1::ApiError>(response.body).code();
}

// Whether an alert of `kind` has a detail containing every one of `parts`.
bool HasAlert(DashboardServer& s, const std::string& kind, const std::vector<std::string>& parts) {
  s.Flush();
  v1::AlertPage page = s.server.store().AlertPage(kind, {1, 200}).value();
  for (const v1::Alert& alert : page.alerts()) {
    bool all = true;
    for (const std::string& part : parts)
      all = all && alert.detail().find(part) != std::string::npos;
    if (all) return true;
  }
  return false;
}

TEST_CASE("login throttle: after the free failures a pair waits, doubling up to the cap") {
  LoginThrottleOptions options;
  options.free_failures = 3;
  options.base_delay_ms = 1 * kSecond;
  options.max_delay_ms = 10 * kSecond;
  options.forget_after_ms = 60 * kMinute;
  LoginThrottle throttle(options);
  int64_t now = 1'000'000;
  for (int i = 0; i < 3; ++i) {
    CHECK(throttle.Check("ada", "10.0.0.1", now).retry_after_ms == 0);
    (void)throttle.Fail("ada", "10.0.0.1", now);
  }
  // The 3rd failure at `now`: 1 s, then 2, 4, 8, and 10 (the cap) from then on.
  for (int64_t expected : {1, 2, 4, 8, 10, 10}) {
    INFO("expected delay " << expected << " s");
    dashboard::LoginVerdict verdict = throttle.Check("ada", "10.0.0.1", now);
    CHECK(verdict.retry_after_ms == expected * kSecond);
    CHECK_FALSE(verdict.address_paused);
    CHECK(throttle.Check("ada", "10.0.0.1", now + expected * kSecond - 1).retry_after_ms == 1);
    now += expected * kSecond;
    CHECK(throttle.Check("ada", "10.0.0.1", now).retry_after_ms == 0);
    (void)throttle.Fail("ada", "10.0.0.1", now);
  }
  // Never a lock of the name: the same name from elsewhere, another name from here.
  CHECK(throttle.Check("ada", "10.0.0.2", now).retry_after_ms == 0);
  CHECK(throttle.Check("bob", "10.0.0.1", now).retry_after_ms == 0);
  // Forgotten an hour after the last failure; a success forgets at once.
  CHECK(throttle.Check("ada", "10.0.0.1", now + 60 * kMinute).retry_after_ms == 0);
  CHECK(throttle.Check("ada", "10.0.0.1", now + 60 * kMinute + 1).retry_after_ms == 0);
  for (int i = 0; i < 5; ++i) (void)throttle.Fail("cy", "10.0.0.3", now);
  CHECK(throttle.Check("cy", "10.0.0.3", now).retry_after_ms > 0);
  throttle.Succeed("cy", "10.0.0.3");
  CHECK(throttle.Check("cy", "10.0.0.3", now).retry_after_ms == 0);
}

TEST_CASE(
    "login throttle: an address range has a ceiling over all names, which success does "
    "not reset") {
  LoginThrottleOptions options;
  options.free_failures = 5;
  options.address_ceiling = 12;
  options.window_ms = 15 * kMinute;
  LoginThrottle throttle(options);
  const int64_t t0 = 5'000'000;
  for (int i = 0; i < 11; ++i) {
    dashboard::LoginFailure failure = throttle.Fail("name" + std::to_string(i), "192.0.2.7", t0);
    CHECK(failure.pair_failures == 1);
    CHECK_FALSE(failure.address_paused);
  }
  throttle.Succeed("name0", "192.0.2.7");
  CHECK(throttle.Check("zed", "192.0.2.7", t0).retry_after_ms == 0);
  CHECK(throttle.Fail("zed", "192.0.2.7", t0 + kSecond).address_paused);  // The 12th.
  dashboard::LoginVerdict paused = throttle.Check("anyone", "192.0.2.7", t0 + kSecond);
  CHECK(paused.address_paused);
  CHECK(paused.retry_after_ms == 15 * kMinute - kSecond);
  CHECK(throttle.Check("anyone", "192.0.2.8", t0 + kSecond).retry_after_ms == 0);
  CHECK(throttle.Check("anyone", "192.0.2.7", t0 + 15 * kMinute).retry_after_ms == 0);
}

TEST_CASE("login throttle: IPv6 addresses of one /64 are one range and memory stays bounded") {
  CHECK(LoginThrottle::AddressRange("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64");
  CHECK(LoginThrottle::AddressRange("2001:db8:1:2:bbbb:cccc:dddd:eeee") == "2001:db8:1:2::/64");
  CHECK(LoginThrottle::AddressRange("192.0.2.7") == "192.0.2.7");
  CHECK(LoginThrottle::AddressRange("not an address") == "not an address");

  LoginThrottleOptions options;
  options.address_ceiling = 4;
  options.max_entries = 8;
  LoginThrottle throttle(options);
  for (int i = 0; i < 4; ++i) {
    (void)throttle.Fail("n" + std::to_string(i), "2001:db8:1:2::" + std::to_string(i + 1), 0);
  }
  CHECK(throttle.Check("x", "2001:db8:1:2:ffff::9", 0).address_paused);
  CHECK_FALSE(throttle.Check("x", "2001:db8:1:3::9", 0).address_paused);

  // Thousands of pairs in a store of 8: the newest failures are still counted.
  for (int i = 0; i < 5000; ++i) (void)throttle.Fail("spray" + std::to_string(i), "10.9.9.9", i);
  for (int i = 0; i < 6; ++i) (void)throttle.Fail("victim", "10.1.1.1", 6000);
  CHECK(throttle.Check("victim", "10.1.1.1", 6000).retry_after_ms > 0);
}

TEST_CASE("login throttle: one name failing from many ranges is counted for the alert") {
  LoginThrottle throttle(LoginThrottleOptions{});
  for (int i = 1; i <= 4; ++i) {
    CHECK(throttle.Fail("ada", "198.51.100." + std::to_string(i), i).name_ranges == i);
  }
  CHECK(throttle.Fail("ada", "198.51.100.1", 10 * kMinute).name_ranges == 4);  // Not a new one.
  // 15 minutes after their last failure .2, .3 and .4 no longer count; .1 still does.
  CHECK(throttle.Fail("ada", "198.51.100.9", 16 * kMinute).name_ranges == 2);
  CHECK(throttle.Fail("bo", "198.51.100.9", 16 * kMinute).name_ranges == 1);
}

TEST_CASE("dashboard: failures for a name from other addresses never lock its owner out") {
  DashboardServer s;
  const std::vector<std::string> attackers = {"203.0.113.1", "203.0.113.2", "203.0.113.3",
                                              "203.0.113.4", "203.0.113.5"};
  for (const std::string& address : attackers) {
    for (int i = 0; i < 5; ++i) {
      CHECK(s.TryLogin("ada", "guess number " + std::to_string(i), address).status == 401);
    }
    HttpResponse paused = s.TryLogin("ada", "ada password!", address);
    CHECK(paused.status == 429);  // Even the right password waits there.
    CHECK(ErrorCode(paused) == "RATE_LIMITED");
    CHECK(std::stoi(HeaderOf(paused, "Retry-After")) > 0);
  }
  // The coordinator, from a fresh address: in at once.
  HttpResponse in = s.TryLogin("ada", "ada password!", "10.20.30.40");
  CHECK(in.status == 200);
  CHECK(FromJson<v1::SessionInfo>(in.body).name() == "ada");
  // The pattern is an alert naming the name and the number of address ranges.
  CHECK(HasAlert(s, "LOGIN_FAILED", {"ada", "failed from 3 address ranges"}));
  CHECK(HasAlert(s, "LOGIN_RATE_LIMITED", {"ada", "203.0.113.4"}));
  // Each failure's own detail is kept: one row per address, each counted five times.
  for (const std::string& address : attackers) {
    CHECK(HasAlert(s, "LOGIN_FAILED", {"failed login as ada from " + address}));
  }
  s.Flush();
  const v1::AlertPage failed = s.server.store().AlertPage("LOGIN_FAILED", {1, 200}).value();
  for (const v1::Alert& alert : failed.alerts()) {
    if (alert.detail().rfind("failed login as", 0) == 0) CHECK(alert.count() == 5);
  }
}

TEST_CASE("dashboard: one person's typos do not lock an office out until the address ceiling") {
  dashboard::DashboardOptions options = testing::TestDashboardOptions();
  options.login.address_ceiling = 8;
  DashboardServer s(options);
  const std::string office = "198.51.100.20";
  for (int i = 0; i < 5; ++i)
    CHECK(s.TryLogin("cora", "typo number " + std::to_string(i), office).status == 401);
  CHECK(s.TryLogin("cora", "cora password!", office).status == 429);  // cora waits …
  CHECK(s.TryLogin("vic", "vic password!", office).status == 200);    // … vic does not.
  // Failures over all names reach the ceiling (8): then every name waits at that address.
  for (int i = 0; i < 3; ++i)
    CHECK(s.TryLogin("vic", "wrong vic " + std::to_string(i), office).status == 401);
  HttpResponse paused = s.TryLogin("ada", "ada password!", office);
  CHECK(paused.status == 429);
  CHECK(std::stoi(HeaderOf(paused, "Retry-After")) > 60);
  CHECK(HasAlert(s, "LOGIN_RATE_LIMITED", {office, "paused for every name"}));
  // Elsewhere nothing changed.
  CHECK(s.TryLogin("ada", "ada password!", "198.51.100.21").status == 200);
}

TEST_CASE("request origin: only syncd's own page, as the browser names it") {
  auto check = [](std::map<std::string, std::string> headers, bool tls = true) {
    HttpRequest request{"POST", "/api/login"};
    request.headers = std::move(headers);
    return CheckRequestOrigin(request, tls);
  };
  using Headers = std::map<std::string, std::string>;
  const std::string host = "vigil.example:8443";
  CHECK(check({}).ok());  // A program, not a browser page.
  CHECK(check(Headers{{"host", host}, {"origin", "https://vigil.example:8443"}}).ok());
  CHECK(check(Headers{{"host", host}, {"origin", "HTTPS://Vigil.Example:8443"}}).ok());
  CHECK(check(Headers{{"host", "vigil.example"}, {"origin", "https://vigil.example:443"}}).ok());
  CHECK(check(Headers{{"host", "[::1]:8443"}, {"origin", "https://[::1]:8443"}}).ok());
  CHECK(check(Headers{{"sec-fetch-site", "same-origin"}}).ok());
  CHECK(check(Headers{{"sec-fetch-site", "none"}}).ok());
  for (const Headers& refused : std::vector<Headers>{
           {{"host", host}, {"origin", "https://evil.example"}},
           {{"host", host}, {"origin", "https://vigil.example:8444"}},
           {{"host", host}, {"origin", "https://vigil.example"}},
           {{"host", host}, {"origin", "http://vigil.example:8443"}},  // Not over TLS.
           {{"host", host}, {"origin", "null"}},
           {{"host", host}, {"origin", ""}},
           {{"host", host}, {"origin", "https://vigil.example:8443/path"}},
           {{"host", host}, {"origin", "https://user@vigil.example:8443"}},
           {{"origin", "https://vigil.example:8443"}},  // No Host to compare with.
           {{"sec-fetch-site", "cross-site"}},
           {{"sec-fetch-site", "same-site"}},
           {{"host", host},
            {"origin", "https://vigil.example:8443"},
            {"sec-fetch-site", "cross-site"}},
       }) {
    Status status = check(refused);
    CHECK(status.code() == StatusCode::kPermissionDenied);
    CHECK(status.message().find("own") != std::string::npos);
  }
  // Behind a TLS-terminating proxy (--no-tls) the browser's origin is https, syncd's http.
  CHECK(check(Headers{{"host", "vigil.example"}, {"origin", "https://vigil.example"}}, false).ok());
  CHECK(
      check(Headers{{"host", "vigil.example:8080"}, {"origin", "http://vigil.example:8080"}}, false)
          .ok());
  CHECK_FALSE(
      check(Headers{{"host", "vigil.example:8080"}, {"origin", "http://vigil.example:9090"}}, false)
          .ok());

  CHECK(IsJsonContentType("application/json"));
  CHECK(IsJsonContentType("Application/JSON; charset=utf-8"));
  CHECK_FALSE(IsJsonContentType(""));
  CHECK_FALSE(IsJsonContentType("text/plain"));
  CHECK_FALSE(IsJsonContentType("application/x-www-form-urlencoded"));
  CHECK_FALSE(IsJsonContentType("multipart/form-data; boundary=x"));
}

TEST_CASE("dashboard: a POST from another origin is refused before anything happens") {
  DashboardServer s;
  const std::map<std::string, std::string> evil = {{"host", "vigil.example:8443"},
                                                   {"origin", "https://evil.example"}};
  HttpResponse login =
      s.Request("POST", "/api/login", R"({"name":"ada","password":"ada password!"})", "", "",
                "10.0.0.1", evil);
  CHECK(login.status == 403);
  CHECK(ErrorCode(login) == "ORIGIN");
  CHECK(HeaderOf(login, "Set-Cookie").empty());
  HttpResponse cross_site =
      s.Request("POST", "/api/login", R"({"name":"ada","password":"ada password!"})", "", "",
                "10.0.0.1", {{"sec-fetch-site", "cross-site"}});
  CHECK(cross_site.status == 403);
  CHECK(ErrorCode(cross_site) == "ORIGIN");

  const std::map<std::string, std::string> own = {{"host", "vigil.example:8443"},
                                                  {"origin", "https://vigil.example:8443"},
                                                  {"sec-fetch-site", "same-origin"}};
  HttpResponse ok =
      s.Request("POST", "/api/login", R"({"name":"cora","password":"cora password!"})", "", "",
                "10.0.0.1", own);
  REQUIRE(ok.status == 200);
  const std::string cookie =
      HeaderOf(ok, "Set-Cookie").substr(0, HeaderOf(ok, "Set-Cookie").find(';'));
  const std::string csrf = FromJson<v1::SessionInfo>(ok.body).csrf_token();
  const std::string body =
      R"({"stationCode":")" + std::string(testing::kStation) +
      R"(","formId":"count","questionId":"ballots","valueText":"300","reason":"recount"})";
  // With the session's cookie and CSRF token, but sent by another site's page: refused.
  HttpResponse forged = s.Request("POST", "/api/overrides", body, cookie, csrf, "10.0.0.1", evil);
  CHECK(forged.status == 403);
  CHECK(ErrorCode(forged) == "ORIGIN");
  v1::AuditLog audit = s.server.store().Audit().value();
  REQUIRE(audit.entries_size() == 1);  // cora's login only.
  CHECK(s.Request("POST", "/api/overrides", body, cookie, csrf, "10.0.0.1", own).status == 200);
  // Reading is not a change: a GET is not refused for its origin.
  CHECK(s.Request("GET", "/api/session", "", cookie, "", "10.0.0.1", evil).status == 200);
}

TEST_CASE("dashboard: login takes JSON only and printable names only") {
  DashboardServer s;
  const std::string body = R"({"name":"ada","password":"ada password!"})";
  for (const char* type :
       {"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b"}) {
    INFO(type);
    HttpResponse refused =
        s.Request("POST", "/api/login", body, "", "", "10.0.0.1", {{"content-type", type}});
    CHECK(refused.status == 415);
    CHECK(ErrorCode(refused) == "UNSUPPORTED_MEDIA_TYPE");
    CHECK(FromJson<v1::ApiError>(refused.body).message().find("application/json") !=
          std::string::npos);
  }
  CHECK(s.Request("POST", "/api/login", body, "", "", "10.0.0.1",
                  {{"content-type", "application/json; charset=utf-8"}})
            .status == 200);

  for (const char* name : {R"(ada\n)", R"(ad\u0000a)", R"(a\u001bda)", R"(ada\u202e)",
                           R"(a\u0085da)", R"( ada)", R"(ada\u2028)", R"(ada\t)"}) {
    INFO(name);
    HttpResponse refused =
        s.Request("POST", "/api/login",
                  std::string(R"({"name":")") + name + R"(","password":"ada password!"})");
    CHECK(refused.status == 400);
    CHECK(ErrorCode(refused) == "INVALID");
    CHECK(FromJson<v1::ApiError>(refused.body).message().find("coordinator name") !=
          std::string::npos);
  }
  s.Flush();
  CHECK(s.server.store().AlertPage("LOGIN_FAILED", {}).value().alerts_size() == 0);

  CHECK(dashboard::CheckCoordinatorName("Sokha Chan").ok());
  CHECK(dashboard::CheckCoordinatorName("សុខា").ok());
  CHECK(dashboard::CheckCoordinatorName("o'brien-2@hq").ok());
  for (std::string bad :
       {std::string(), std::string(65, 'a'), std::string("a\nb"), std::string("a\x7f"),
        std::string("\xC0\xAF"), std::string("a\xE2\x80\xAE"), std::string("trailing ")}) {
    CHECK(dashboard::CheckCoordinatorName(bad).code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("dashboard: every answer carries Strict-Transport-Security") {
  DashboardServer s;
  for (const HttpResponse& response :
       {s.Request("GET", "/dashboard/"), s.Request("GET", "/api/overview"),
        s.TryLogin("ada", "ada password!"), s.Request("GET", "/dashboard/nothing.js")}) {
    CHECK(HeaderOf(response, "Strict-Transport-Security") == "max-age=31536000");
  }
}

}  // namespace
}  // namespace vigil::syncd
