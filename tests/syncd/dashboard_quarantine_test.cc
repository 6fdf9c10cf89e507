// The coordinators' quarantine list (docs/dashboard.md, docs/protocol.md §8.5) through the
// Router and the real SQLite store: who may list and release, the CSRF token and the origin
// checked before anything, bad parameters and bodies refused by name, and records pushed into
// quarantine listed and released through the API exactly once.
#include <doctest/doctest.h>

#include <map>

#include "dashboard_util.h"

namespace vigil::syncd {
namespace {

using testing::AsRecord;
using testing::CountSubmission;
using testing::DashboardServer;
using testing::FromJson;
using testing::kStation;
using testing::TestDevice;

constexpr const char* kOther = "12-03-07-0453";  // A station not assigned to obs1.

std::string ErrorCode(const HttpResponse& response) {
  return FromJson<v1::ApiError>(response.body).code();
}

TEST_CASE(
    "dashboard: quarantine release needs the coordinator role, the CSRF token and our "
    "origin") {
  DashboardServer s;
  const std::string body =
      R"({"recordId":"11111111-1111-4111-8111-111111111111","reason":"moved"})";
  auto [viewer, viewer_csrf] = s.Login("vic");
  HttpResponse forbidden = s.Request("POST", "/api/quarantine/release", body, viewer, viewer_csrf);
  CHECK(forbidden.status == 403);
  CHECK(ErrorCode(forbidden) == "FORBIDDEN");
  CHECK(FromJson<v1::ApiError>(forbidden.body).message().find("coordinator") != std::string::npos);

  auto [cookie, csrf] = s.Login("cora");
  HttpResponse no_csrf = s.Request("POST", "/api/quarantine/release", body, cookie);
  CHECK(no_csrf.status == 403);
  CHECK(ErrorCode(no_csrf) == "CSRF");
  HttpResponse other_site =
      s.Request("POST", "/api/quarantine/release", body, cookie, csrf, "10.0.0.1",
                {{"host", "vigil.example"}, {"origin", "https://attacker.example"}});
  CHECK(other_site.status == 403);
  CHECK(ErrorCode(other_site) == "ORIGIN");
  CHECK(s.Request("GET", "/api/quarantine/release", "", cookie).status == 404);
  CHECK(s.Request("POST", "/api/quarantine", body, cookie, csrf).status == 404);
  CHECK(s.Request("POST", "/api/quarantine/release", body).status == 401);
  CHECK(s.Request("GET", "/api/quarantine").status == 401);

  // Bodies and parameters refused by name, before the store is asked.
  for (const auto& [bad, words] : std::vector<std::pair<std::string, std::string>>{
           {R"({"recordId":"r1"})", "reason"},
           {R"({"recordId":"r1","reason":""})", "reason"},
           {R"({"reason":"moved"})", "recordId"},
           {R"({"recordId":")" + std::string(65, 'a') + R"(","reason":"moved"})", "recordId"},
           {R"({"recordId":"r1","reason":"moved","extra":1})", "QuarantineReleaseInput"},
           {"not json", "QuarantineReleaseInput"}}) {
    INFO(bad);
    HttpResponse refused = s.Request("POST", "/api/quarantine/release", bad, cookie, csrf);
    CHECK(refused.status == 400);
    CHECK(ErrorCode(refused) == "INVALID");
    CHECK(FromJson<v1::ApiError>(refused.body).message().find(words) != std::string::npos);
  }
  for (const char* target : {"/api/quarantine?released=yes", "/api/quarantine?released=2",
                             "/api/quarantine?page=x", "/api/quarantine?page_size=-1"}) {
    INFO(target);
    CHECK(s.Request("GET", target, "", cookie).status == 400);
  }
  // Nothing was changed or audited but the two logins.
  CHECK(s.server.store().Audit().value().entries_size() == 2);
}

TEST_CASE("dashboard: records pushed into quarantine are listed and released once") {
  DashboardServer s;
  v1::Station other;
  other.set_code(kOther);
  other.set_name("Pagoda");
  REQUIRE(s.server.store().ImportStations({other}).ok());
  TestDevice device = s.Enroll("obs1", 'a');
  v1::Submission elsewhere = CountSubmission("q-elsewhere", 10, {{"ballots", 300}}, kOther);
  v1::Submission claimed = CountSubmission("q-claimed", 11, {{"ballots", 280}});
  claimed.set_observer_id("obs2");
  s.Push(device, {AsRecord(elsewhere), AsRecord(claimed)});

  auto [viewer, viewer_csrf] = s.Login("vic");
  HttpResponse listed = s.Request("GET", "/api/quarantine", "", viewer);
  REQUIRE(listed.status == 200);
  auto held = FromJson<v1::QuarantinePage>(listed.body);
  CHECK(held.total() == 2);
  REQUIRE(held.records_size() == 2);
  std::map<std::string, v1::QuarantinedRecord> by_id;
  for (const v1::QuarantinedRecord& r : held.records()) by_id[r.record_id()] = r;
  REQUIRE(by_id.count("q-elsewhere") == 1);
  REQUIRE(by_id.count("q-claimed") == 1);
  CHECK(by_id["q-elsewhere"].station_code() == kOther);
  CHECK(by_id["q-elsewhere"].reason().find("not assigned") != std::string::npos);
  CHECK(by_id["q-elsewhere"].device_id() == device.device_id);
  CHECK(by_id["q-elsewhere"].form_id() == "count");
  CHECK(by_id["q-claimed"].observer_id() == "obs1");          // The enrolled observer …
  CHECK(by_id["q-claimed"].claimed_observer_id() == "obs2");  // … beside the claim.
  CHECK(
      FromJson<v1::QuarantinePage>(s.Request("GET", "/api/quarantine?released=1", "", viewer).body)
          .records_size() == 0);
  CHECK(s.Request("POST", "/api/quarantine/release",
                  R"({"recordId":"q-elsewhere","reason":"moved"})", viewer, viewer_csrf)
            .status == 403);

  auto [cookie, csrf] = s.Login("cora");
  auto release = [&, cookie = cookie, csrf = csrf](const std::string& id,
                                                   const std::string& reason) {
    return s.Request("POST", "/api/quarantine/release",
                     R"({"recordId":")" + id + R"(","reason":")" + reason + "\"}", cookie, csrf);
  };
  // Still failing today's checks: 409 saying why, nothing merged.
  HttpResponse early = release("q-elsewhere", "obs1 went there");
  CHECK(early.status == 409);
  CHECK(ErrorCode(early) == "CONFLICT");
  CHECK(FromJson<v1::ApiError>(early.body).message().find("not assigned") != std::string::npos);
  CHECK(s.server.store().StationDetail(kOther).value().masters_size() == 0);
  CHECK(release("no-such-record", "why").status == 404);

  // Once obs1 is assigned there, the release merges it, once.
  REQUIRE(s.server.store().AssignStations("obs1", {kOther}, "ada").ok());
  HttpResponse released = release("q-elsewhere", "obs1 was moved to the pagoda");
  REQUIRE(released.status == 200);
  auto record = FromJson<v1::QuarantinedRecord>(released.body);
  CHECK(record.record_id() == "q-elsewhere");
  CHECK(record.released_by() == "cora");
  CHECK(record.release_reason() == "obs1 was moved to the pagoda");
  CHECK(record.released_at_ms() > 0);
  HttpResponse again = release("q-elsewhere", "again");
  CHECK(again.status == 409);
  v1::StationDetail detail = s.server.store().StationDetail(kOther).value();
  REQUIRE(detail.masters_size() == 1);
  CHECK(detail.submissions_size() == 1);

  auto still_held =
      FromJson<v1::QuarantinePage>(s.Request("GET", "/api/quarantine", "", viewer).body);
  REQUIRE(still_held.records_size() == 1);
  CHECK(still_held.records(0).record_id() == "q-claimed");
  auto done = FromJson<v1::QuarantinePage>(
      s.Request("GET", "/api/quarantine?released=1&page=1&page_size=10", "", viewer).body);
  REQUIRE(done.records_size() == 1);
  CHECK(done.records(0).released_by() == "cora");
  int audited = 0;
  const v1::AuditLog audit = s.server.store().Audit().value();
  for (const v1::AuditEntry& e : audit.entries()) {
    if (e.action() == "quarantine.release") {
      ++audited;
      CHECK(e.actor() == "cora");
      CHECK(e.target() == "q-elsewhere");
    }
  }
  CHECK(audited == 1);
}

}  // namespace
}  // namespace vigil::syncd
