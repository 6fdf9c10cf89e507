// The coordinators' quarantine list (docs/dashboard.md, docs/protocol.md §11) through the
// Router: who may list and release, the CSRF token and the origin checked before anything,
// bad parameters and bodies refused by name.
#include <doctest/doctest.h>

#include "dashboard_util.h"

namespace vigil::syncd {
namespace {

using testing::DashboardServer;
using testing::FromJson;

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

}  // namespace
}  // namespace vigil::syncd
