// The coordinators' dashboard without sockets (syncd/src/dashboard/): passwords, sessions,
// the login limiter and the event hub as units; then the /api/ endpoints through the
// Router, with real stores: authentication, CSRF, roles enforced by the server, the audit
// log, alerts, coverage drill-down, cases by severity, revocation, CSV export and the
// page's files.
#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>

#include "dashboard/api.h"
#include "dashboard/events.h"
#include "dashboard/password.h"
#include "dashboard/sessions.h"
#include "dashboard_util.h"

namespace vigil::syncd {
namespace {

using testing::AsRecord;
using testing::CountSubmission;
using testing::DashboardServer;
using testing::FromJson;
using testing::HeaderOf;
using testing::Incident;
using testing::kStation;
using testing::TestDevice;

constexpr int64_t kMinute = 60 * 1000;

TEST_CASE("dashboard: passwords are scrypt hashes that verify only the right password") {
  std::string hash = dashboard::HashPassword("correct horse battery").value();
  CHECK(hash.rfind("scrypt$15$8$1$", 0) == 0);
  CHECK(hash.find("correct") == std::string::npos);
  CHECK(dashboard::VerifyPassword("correct horse battery", hash));
  CHECK_FALSE(dashboard::VerifyPassword("correct horse batterY", hash));
  CHECK(dashboard::HashPassword("correct horse battery").value() != hash);  // Salted.
  CHECK_FALSE(dashboard::VerifyPassword("x", "scrypt$15$8$1$AAAA"));
  CHECK_FALSE(dashboard::VerifyPassword("x", "scrypt$99$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA"));
  CHECK_FALSE(dashboard::VerifyPassword("x", "plain$x"));
  CHECK(dashboard::HashPassword("short").status().code() == StatusCode::kInvalidArgument);
  CHECK(dashboard::HashPassword(std::string(257, 'a')).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(dashboard::HashPassword("bad \xC0\xAF utf-8 text").status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("dashboard: sessions end when idle or old and the oldest is evicted") {
  dashboard::SessionOptions options;
  options.idle_timeout_ms = 1000;
  options.max_age_ms = 5000;
  options.max_sessions = 2;
  options.touch_interval_ms = 0;  // Every use recorded: this test is about the order of uses.
  testing::TestServer server;
  for (const char* name : {"ada", "a", "b", "c", "d"}) {
    CoordinatorRecord coordinator;
    coordinator.name = name;
    coordinator.password_hash = "scrypt$unused";
    REQUIRE(server.store().AddCoordinator(coordinator).ok());
  }
  dashboard::SessionStore store_sessions(server.store(), options);
  // The assertions below read the optional a lookup gives when the store answered.
  struct {
    dashboard::SessionStore& store;
    Result<std::pair<std::string, dashboard::Session>> Create(const std::string& name,
                                                              v1::CoordinatorRole role,
                                                              int64_t now_ms) {
      return store.Create(name, role, now_ms);
    }
    std::optional<dashboard::Session> Find(const std::string& token, int64_t now_ms, bool touch) {
      Result<std::optional<dashboard::Session>> found = store.Find(token, now_ms, touch);
      REQUIRE(found.ok());
      return *found;
    }
    void Remove(const std::string& token) { REQUIRE(store.Remove(token).ok()); }
  } sessions{store_sessions};
  auto [token, session] = sessions.Create("ada", v1::ROLE_ADMIN, 0).value();
  CHECK(session.csrf_token.size() >= 40);
  CHECK(sessions.Find(token, 900, true).has_value());
  CHECK(sessions.Find(token, 1800, true).has_value());        // Used at 900: still fresh.
  CHECK_FALSE(sessions.Find(token, 2900, true).has_value());  // Idle too long.
  CHECK_FALSE(sessions.Find(token, 2901, true).has_value());  // Gone for good.

  auto a = sessions.Create("a", v1::ROLE_VIEWER, 0).value().first;
  for (int64_t t = 900; t < 6000; t += 900) (void)sessions.Find(a, t, true);
  CHECK_FALSE(sessions.Find(a, 6000, true).has_value());  // Older than max_age.

  auto b = sessions.Create("b", v1::ROLE_VIEWER, 10).value().first;
  auto c = sessions.Create("c", v1::ROLE_VIEWER, 20).value().first;
  (void)sessions.Find(b, 30, true);
  auto d = sessions.Create("d", v1::ROLE_VIEWER, 40).value().first;  // Evicts c.
  CHECK(sessions.Find(b, 50, false).has_value());
  CHECK_FALSE(sessions.Find(c, 50, false).has_value());
  CHECK(sessions.Find(d, 50, false).has_value());
  sessions.Remove(d);
  CHECK_FALSE(sessions.Find(d, 50, false).has_value());
  CHECK_FALSE(sessions.Find("", 50, false).has_value());
}

TEST_CASE("dashboard: the login limiter pauses a key after repeated failures") {
  FailureLimiter limiter(3, 1000);
  for (int i = 0; i < 3; ++i) {
    CHECK(limiter.RetryAfterMs("k", 100) == 0);
    limiter.Fail("k", 100);
  }
  CHECK(limiter.RetryAfterMs("k", 100) == 1000);
  CHECK(limiter.RetryAfterMs("other", 100) == 0);
  CHECK(limiter.RetryAfterMs("k", 1100) == 0);  // The window passed.
  limiter.Fail("j", 0);
  limiter.Fail("j", 0);
  limiter.Reset("j");
  limiter.Fail("j", 0);
  CHECK(limiter.RetryAfterMs("j", 0) == 0);
}

TEST_CASE("dashboard: the event hub fans out and drops sinks that leave") {
  dashboard::EventHub hub(2);
  std::vector<std::string> a, b;
  bool b_alive = true;
  uint64_t ida = hub.Subscribe([&](const std::string& c) {
    a.push_back(c);
    return true;
  });
  CHECK(ida != 0);
  CHECK(hub.Subscribe([&](const std::string& c) {
    b.push_back(c);
    return b_alive;
  }) != 0);
  CHECK(hub.Subscribe([](const std::string&) { return true; }) == 0);  // Full.
  hub.Publish("overview", "{\"a\":1}\nline");
  REQUIRE(a.size() == 1);
  CHECK(a[0] == "event: overview\ndata: {\"a\":1} line\n\n");
  b_alive = false;
  hub.Publish("overview", "2");
  hub.Publish("overview", "3");
  CHECK(a.size() == 3);
  CHECK(b.size() == 2);
  CHECK(hub.size() == 1);
  hub.Unsubscribe(ida);
  hub.Publish("overview", "4");
  CHECK(a.size() == 3);
}

TEST_CASE("dashboard: login sets a strict session cookie and wrong passwords are refused") {
  DashboardServer s;
  HttpResponse anonymous = s.Request("GET", "/api/overview");
  CHECK(anonymous.status == 401);
  CHECK(FromJson<v1::ApiError>(anonymous.body).code() == "UNAUTHENTICATED");

  HttpResponse wrong =
      s.Request("POST", "/api/login", R"({"name":"ada","password":"not her password"})");
  CHECK(wrong.status == 401);
  CHECK(HeaderOf(wrong, "Set-Cookie").empty());
  HttpResponse unknown =
      s.Request("POST", "/api/login", R"({"name":"nobody","password":"whatever it is"})");
  CHECK(unknown.status == 401);
  CHECK(unknown.body == wrong.body);  // The same answer: names do not leak.

  HttpResponse ok = s.Request("POST", "/api/login", R"({"name":"ada","password":"ada password!"})");
  REQUIRE(ok.status == 200);
  const std::string cookie = HeaderOf(ok, "Set-Cookie");
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("Secure") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(HeaderOf(ok, "Cache-Control") == "no-store");
  auto info = FromJson<v1::SessionInfo>(ok.body);
  CHECK(info.name() == "ada");
  CHECK(info.role() == v1::ROLE_ADMIN);
  CHECK(info.server_id() == testing::kServerId);

  HttpResponse bad_json = s.Request("POST", "/api/login", R"({"name":"ada","pass":"x"})");
  CHECK(bad_json.status == 400);
  CHECK(FromJson<v1::ApiError>(bad_json.body).code() == "INVALID");
  // A body with invalid UTF-8 (found by the dashboard fuzz target): the error quotes it, and
  // the answer must still be valid JSON.
  HttpResponse bad_utf8 = s.Request("POST", "/api/login", "{\"name\":\"ad\x08\xe8\x03\xc1\x9a\x16");
  CHECK(bad_utf8.status == 400);
  CHECK(FromJson<v1::ApiError>(bad_utf8.body).code() == "INVALID");
  HttpResponse get_login = s.Request("GET", "/api/login");
  CHECK(get_login.status == 405);

  v1::AuditLog audit = s.server.store().Audit().value();
  REQUIRE(audit.entries_size() == 1);
  CHECK(audit.entries(0).actor() == "ada");
  CHECK(audit.entries(0).action() == "session.login");
  CHECK(audit.entries(0).target() == "10.0.0.1");
}

TEST_CASE("dashboard: failed logins are limited per address and raise alerts") {
  DashboardServer s;
  for (int i = 0; i < 5; ++i) {
    CHECK(s.Request("POST", "/api/login",
                    R"({"name":"ada","password":"guess number )" + std::to_string(i) + "\"}")
              .status == 401);
  }
  HttpResponse limited =
      s.Request("POST", "/api/login", R"({"name":"ada","password":"ada password!"})");
  CHECK(limited.status == 429);  // Even the right password waits.
  CHECK(FromJson<v1::ApiError>(limited.body).code() == "RATE_LIMITED");
  CHECK(std::stoi(HeaderOf(limited, "Retry-After")) > 0);
  // Another coordinator from another address is not held up.
  CHECK(s.Request("POST", "/api/login", R"({"name":"vic","password":"vic password!"})", "", "",
                  "10.0.0.2")
            .status == 200);
  s.Flush();
  v1::AlertPage alerts = s.server.store().AlertPage("LOGIN_FAILED", {}).value();
  REQUIRE(alerts.alerts_size() == 1);
  CHECK(alerts.alerts(0).count() == 5);
  CHECK(alerts.alerts(0).detail().find("10.0.0.1") != std::string::npos);
  CHECK(s.server.store().AlertPage("LOGIN_RATE_LIMITED", {}).value().alerts_size() == 1);
}

TEST_CASE("dashboard: every POST needs the session's CSRF token") {
  DashboardServer s;
  auto [cookie, csrf] = s.Login("cora");
  const std::string body =
      R"({"stationCode":")" + std::string(kStation) +
      R"(","formId":"count","questionId":"ballots","valueText":"300","reason":"recount"})";
  HttpResponse none = s.Request("POST", "/api/overrides", body, cookie);
  CHECK(none.status == 403);
  CHECK(FromJson<v1::ApiError>(none.body).code() == "CSRF");
  HttpResponse wrong = s.Request("POST", "/api/overrides", body, cookie, csrf + "x");
  CHECK(wrong.status == 403);
  auto [other_cookie, other_csrf] = s.Login("ada");
  CHECK(s.Request("POST", "/api/overrides", body, cookie, other_csrf).status == 403);
  CHECK(s.server.store().Audit().value().entries_size() == 2);  // Two logins, no override.
  HttpResponse ok = s.Request("POST", "/api/overrides", body, cookie, csrf);
  CHECK(ok.status == 200);
  (void)other_cookie;
}

TEST_CASE("dashboard: a viewer is refused every change by the server") {
  DashboardServer s;
  TestDevice device = s.Enroll("obs1", 'a');
  s.Push(device, {AsRecord(Incident("i1", "violence", NowMs(), "high"))});
  auto [cookie, csrf] = s.Login("vic");
  const std::string override_body =
      R"({"stationCode":")" + std::string(kStation) +
      R"(","formId":"count","questionId":"ballots","valueText":"300","reason":"r"})";
  HttpResponse o = s.Request("POST", "/api/overrides", override_body, cookie, csrf);
  CHECK(o.status == 403);
  CHECK(FromJson<v1::ApiError>(o.body).code() == "FORBIDDEN");
  HttpResponse c = s.Request("POST", "/api/cases/i1/status",
                             R"({"status":"CASE_VERIFIED","reason":"r"})", cookie, csrf);
  CHECK(c.status == 403);
  HttpResponse r = s.Request("POST", "/api/devices/" + device.device_id + "/revoke",
                             R"({"reason":"r"})", cookie, csrf);
  CHECK(r.status == 403);
  // A coordinator may move cases but not revoke devices.
  auto [cora, cora_csrf] = s.Login("cora");
  CHECK(s.Request("POST", "/api/devices/" + device.device_id + "/revoke", R"({"reason":"r"})", cora,
                  cora_csrf)
            .status == 403);
  // Nothing changed.
  CHECK(s.server.store().DeviceRow(device.device_id).value().device().status() == "active");
  CHECK(s.server.store().CaseDetail("i1").value().row().info().status() == v1::CASE_NEW);
  v1::AuditLog log = s.server.store().Audit().value();
  for (const v1::AuditEntry& e : log.entries()) {
    CHECK(e.action() == "session.login");
  }
  // But the viewer reads everything.
  CHECK(s.Request("GET", "/api/cases", "", cookie).status == 200);
  CHECK(s.Request("GET", "/api/devices", "", cookie).status == 200);
}

TEST_CASE("dashboard: a coordinator overrides a conflict and the audit log names them") {
  DashboardServer s;
  TestDevice d1 = s.Enroll("obs1", 'a');
  TestDevice d2 = s.Enroll("obs2", 'b');
  s.Push(d1, {AsRecord(CountSubmission("s1", 10, {{"ballots", 300}, {"votes_a", 120}}))});
  s.Push(d2, {AsRecord(CountSubmission("s2", 11, {{"ballots", 300}, {"votes_a", 150}}))});
  auto [cookie, csrf] = s.Login("cora");

  auto page = FromJson<v1::CoveragePage>(
      s.Request("GET", "/api/coverage?form=count&level=station&status=conflict", "", cookie).body);
  REQUIRE(page.stations_size() == 1);
  CHECK(page.stations(0).station_code() == kStation);
  CHECK(page.stations(0).conflicts() == 1);
  CHECK(page.stations(0).contributors() == 2);
  CHECK(page.total() == 1);
  CHECK(page.parent().conflict() == 1);

  auto station = FromJson<v1::StationDetail>(
      s.Request("GET", std::string("/api/stations/") + kStation, "", cookie).body);
  REQUIRE(station.masters_size() == 1);
  REQUIRE(station.masters(0).conflicts_size() == 1);
  CHECK(station.masters(0).conflicts(0).values_size() == 2);
  CHECK(station.submissions_size() == 2);
  CHECK(station.observer_ids_size() == 2);

  HttpResponse set = s.Request(
      "POST", "/api/overrides",
      R"({"stationCode":")" + std::string(kStation) +
          R"(","formId":"count","questionId":"votes_a","valueText":"120","reason":"tally sheet photo"})",
      cookie, csrf);
  REQUIRE(set.status == 200);
  auto master = FromJson<v1::MasterRecord>(set.body);
  CHECK(master.status() == v1::COVERAGE_COMPLETE);
  bool audited = false;
  v1::AuditLog log = s.server.store().Audit().value();
  for (const v1::AuditEntry& e : log.entries()) {
    if (e.action() == "override.set") {
      audited = true;
      CHECK(e.actor() == "cora");
      CHECK(e.reason() == "tally sheet photo");
    }
  }
  CHECK(audited);
  HttpResponse no_reason =
      s.Request("POST", "/api/overrides",
                R"({"stationCode":")" + std::string(kStation) +
                    R"(","formId":"count","questionId":"votes_a","valueText":"120","reason":""})",
                cookie, csrf);
  CHECK(no_reason.status == 400);
  HttpResponse bad_value =
      s.Request("POST", "/api/overrides",
                R"({"stationCode":")" + std::string(kStation) +
                    R"(","formId":"count","questionId":"votes_a","valueText":"many","reason":"r"})",
                cookie, csrf);
  CHECK(bad_value.status == 400);
}

TEST_CASE("dashboard: cases come most severe first and move along their workflow") {
  DashboardServer s;
  TestDevice device = s.Enroll("obs1", 'a');
  const int64_t t0 = NowMs() - 300 * kMinute;
  s.Push(device, {AsRecord(Incident("low1", "queue", t0, "low")),
                  AsRecord(Incident("crit1", "violence", t0 + kMinute, "critical")),
                  AsRecord(Incident("med1", "materials", t0 + 2 * kMinute, "medium"))});
  auto [cookie, csrf] = s.Login("cora");
  auto page = FromJson<v1::CasePage>(s.Request("GET", "/api/cases", "", cookie).body);
  REQUIRE(page.cases_size() == 3);
  CHECK(page.cases(0).info().severity() == "critical");
  CHECK(page.cases(1).info().severity() == "medium");
  CHECK(page.cases(2).info().severity() == "low");
  CHECK(page.cases(0).info().timeline_size() == 0);  // Lists carry no timelines.
  CHECK(page.categories_size() == 3);
  auto filtered =
      FromJson<v1::CasePage>(s.Request("GET", "/api/cases?category=queue", "", cookie).body);
  REQUIRE(filtered.cases_size() == 1);
  CHECK(filtered.total() == 1);

  HttpResponse verified =
      s.Request("POST", "/api/cases/crit1/status",
                R"({"status":"CASE_VERIFIED","reason":"called"})", cookie, csrf);
  REQUIRE(verified.status == 200);
  auto detail = FromJson<v1::CaseDetail>(verified.body);
  CHECK(detail.row().info().status() == v1::CASE_VERIFIED);
  CHECK(detail.row().info().timeline_size() == 1);
  REQUIRE(detail.history_size() == 1);
  CHECK(detail.history(0).actor() == "cora");
  CHECK(detail.history(0).reason() == "called");
  HttpResponse backwards = s.Request("POST", "/api/cases/crit1/status",
                                     R"({"status":"CASE_NEW","reason":"oops"})", cookie, csrf);
  CHECK(backwards.status == 409);
  CHECK(s.Request("GET", "/api/cases/nope", "", cookie).status == 404);
  auto open = FromJson<v1::CasePage>(s.Request("GET", "/api/cases?status=new", "", cookie).body);
  CHECK(open.cases_size() == 2);
  CHECK(s.Request("GET", "/api/cases?status=sideways", "", cookie).status == 400);
}

TEST_CASE("dashboard: an admin revokes a device, its next push is refused and alerted") {
  DashboardServer s;
  TestDevice device = s.Enroll("obs1", 'a');
  s.Push(device, {AsRecord(CountSubmission("s1", 10, {{"ballots", 300}}))});
  auto [cookie, csrf] = s.Login("ada");
  auto devices = FromJson<v1::DevicePage>(s.Request("GET", "/api/devices?q=Sok", "", cookie).body);
  REQUIRE(devices.devices_size() == 1);
  CHECK(devices.devices(0).observer_name() == "Sok");
  CHECK(devices.devices(0).station_codes(0) == kStation);
  HttpResponse revoked = s.Request("POST", "/api/devices/" + device.device_id + "/revoke",
                                   R"({"reason":"tablet seized"})", cookie, csrf);
  REQUIRE(revoked.status == 200);
  CHECK(FromJson<v1::DeviceRow>(revoked.body).device().status() == "revoked");
  CHECK(s.Request("POST", "/api/devices/" + device.device_id + "/revoke", R"({"reason":"again"})",
                  cookie, csrf)
            .status == 409);
  CHECK(s.Request("POST", "/api/devices/dnope/revoke", R"({"reason":"r"})", cookie, csrf).status ==
        404);
  HttpResponse push = s.server.Post(
      "/v1/push", device.NextBody({AsRecord(CountSubmission("s2", 11, {{"ballots", 1}}))}));
  CHECK(push.status == 403);
  s.Flush();
  auto alerts =
      FromJson<v1::AlertPage>(s.Request("GET", "/api/alerts?kind=DEVICE_REVOKED", "", cookie).body);
  REQUIRE(alerts.alerts_size() == 1);
  CHECK(alerts.alerts(0).device_id() == device.device_id);
  bool audited = false;
  v1::AuditLog log = s.server.store().Audit().value();
  for (const v1::AuditEntry& e : log.entries()) {
    if (e.action() == "device.revoke") {
      audited = true;
      CHECK(e.actor() == "ada");
      CHECK(e.target() == device.device_id);
      CHECK(e.reason() == "tablet seized");
    }
  }
  CHECK(audited);
}

TEST_CASE("dashboard: logout and disabling end a session") {
  DashboardServer s;
  auto [cookie, csrf] = s.Login("vic");
  CHECK(s.Request("GET", "/api/session", "", cookie).status == 200);
  HttpResponse out = s.Request("POST", "/api/logout", "", cookie, csrf);
  CHECK(out.status == 200);
  CHECK(HeaderOf(out, "Set-Cookie").find("Max-Age=0") != std::string::npos);
  CHECK(s.Request("GET", "/api/session", "", cookie).status == 401);

  auto [cookie2, csrf2] = s.Login("cora");
  REQUIRE(s.server.store().SetCoordinatorDisabled("cora", true).ok());
  CHECK(s.Request("GET", "/api/overview", "", cookie2).status == 401);
  CHECK(s.Request("POST", "/api/login", R"({"name":"cora","password":"cora password!"})").status ==
        401);
  (void)csrf2;
}

TEST_CASE("dashboard: overview and coverage answer in the documented JSON") {
  DashboardServer s;
  TestDevice device = s.Enroll("obs1", 'a');
  s.Push(device, {AsRecord(CountSubmission("s1", 10, {{"ballots", 300}, {"votes_a", 1}})),
                  AsRecord(Incident("i1", "violence", NowMs(), "high"))});
  auto [cookie, csrf] = s.Login("vic");
  auto overview = FromJson<v1::Overview>(s.Request("GET", "/api/overview", "", cookie).body);
  CHECK(overview.submissions() == 1);
  CHECK(overview.incidents() == 1);
  CHECK(overview.stations() == 1);
  CHECK(overview.open_cases_total() == 1);
  REQUIRE(overview.open_cases_size() == 4);
  CHECK(overview.open_cases(1).severity() == "high");
  CHECK(overview.open_cases(1).open() == 1);
  REQUIRE(overview.reports_per_minute_size() == 1);
  CHECK(overview.reports_per_minute(0).submissions() == 1);
  CHECK(overview.last_report_at_ms() > 0);
  bool count_form = false;
  for (const v1::FormCoverage& f : overview.forms()) {
    if (f.form_id() != "count") continue;
    count_form = true;
    CHECK(f.nation().stations() == 1);
    CHECK(f.nation().missing() + f.nation().partial() + f.nation().complete() +
              f.nation().conflict() ==
          1);
  }
  CHECK(count_form);

  CHECK(s.Request("GET", "/api/coverage?form=count&level=district", "", cookie).status == 400);
  CHECK(s.Request("GET", "/api/coverage?form=count&level=planet", "", cookie).status == 400);
  CHECK(s.Request("GET", "/api/coverage?form=count&page=x", "", cookie).status == 400);
  auto provinces =
      FromJson<v1::CoveragePage>(s.Request("GET", "/api/coverage?form=count", "", cookie).body);
  CHECK(provinces.parent().stations() == 1);
  CHECK(provinces.total() == static_cast<uint32_t>(provinces.areas_size()));
  CHECK(s.Request("GET", "/api/stations/nowhere", "", cookie).status == 404);
  CHECK(s.Request("GET", "/api/nothing-here", "", cookie).status == 404);
  HttpResponse big = s.Request("POST", "/api/overrides", std::string(70 * 1024, ' '), cookie, csrf);
  CHECK(big.status == 413);
}

TEST_CASE("dashboard: CSV exports are inert in spreadsheets") {
  DashboardServer s;
  v1::Station station;
  station.set_code(kStation);
  station.set_name("=HYPERLINK(\"http://evil\",\"x\")");
  REQUIRE(s.server.store().ImportStations({station}).ok());
  TestDevice device = s.Enroll("obs1", 'a');
  s.Push(device, {AsRecord(CountSubmission("s1", 10, {{"ballots", 300}}))});
  auto [cookie, csrf] = s.Login("vic");
  HttpResponse masters = s.Request("GET", "/api/export/masters.csv?form=count", "", cookie);
  REQUIRE(masters.status == 200);
  CHECK(masters.content_type.rfind("text/csv", 0) == 0);
  CHECK(masters.body.find(",\"'=HYPERLINK(") != std::string::npos);
  CHECK(masters.body.find(",=HYPERLINK") == std::string::npos);
  HttpResponse subs = s.Request("GET", "/api/export/submissions.csv?form=count", "", cookie);
  CHECK(subs.body.find("s1,") != std::string::npos);
  CHECK(s.Request("GET", "/api/export/cases.csv", "", cookie).status == 200);
  CHECK(s.Request("GET", "/api/export/passwords.csv", "", cookie).status == 404);
}

TEST_CASE("dashboard: the page's files are served with a strict policy and nothing else") {
  DashboardServer s;
  HttpResponse root = s.Request("GET", "/");
  CHECK(root.status == 302);
  CHECK(HeaderOf(root, "Location") == "/dashboard/");
  HttpResponse page = s.Request("GET", "/dashboard/");
  CHECK(page.status == 200);
  CHECK(page.content_type.rfind("text/html", 0) == 0);
  CHECK(HeaderOf(page, "Content-Security-Policy").find("default-src 'self'") != std::string::npos);
  HttpResponse font = s.Request("GET", "/dashboard/fonts/khmer.ttf");
  CHECK(font.status == 200);
  CHECK(font.content_type == "font/ttf");
  CHECK(font.body.size() > 100000);
  for (const char* target :
       {"/dashboard/../syncd.db", "/dashboard/..%2fsyncd.db", "/dashboard/.hidden",
        "/dashboard/fonts/../../etc/passwd", "/dashboard/x/y.js", "/dashboardx"}) {
    INFO(target);
    CHECK(s.Request("GET", target).status == 404);
  }
  CHECK(s.Request("POST", "/dashboard/").status == 405);
}

}  // namespace
}  // namespace vigil::syncd
