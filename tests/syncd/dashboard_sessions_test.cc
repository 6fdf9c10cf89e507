// Coordinators' sessions in the store's database (dashboard/sessions.h): a session made
// through one store (one syncd node) is found, kept alive, evicted, ended and disabled through
// another on the same database, and the database holds only the token's hash. Runs on SQLite
// (two stores on one file) and, as `pg: syncd: …`, on PostgreSQL.
#include <doctest/doctest.h>

#include "dashboard/api.h"
#include "dashboard/sessions.h"
#include "dashboard_util.h"

namespace vigil::syncd {
namespace {

using testing::DashboardServer;
using testing::FromJson;
using testing::TestDashboardOptions;

// A lookup that must reach the store; the session, or nullopt when there is none.
std::optional<dashboard::Session> FindIn(dashboard::SessionStore& sessions,
                                         const std::string& token, int64_t now_ms, bool touch) {
  Result<std::optional<dashboard::Session>> found = sessions.Find(token, now_ms, touch);
  REQUIRE_MESSAGE(found.ok(), found.status().ToString());
  return *found;
}

std::string CreateIn(dashboard::SessionStore& sessions, const std::string& name, int64_t now_ms) {
  auto created = sessions.Create(name, v1::ROLE_VIEWER, now_ms);
  REQUIRE_MESSAGE(created.ok(), created.status().ToString());
  return created->first;
}

void AddCoordinators(SqlStore& store, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    CoordinatorRecord coordinator;
    coordinator.name = name;
    coordinator.password_hash = "scrypt$unused";
    REQUIRE(store.AddCoordinator(coordinator).ok());
  }
}

TEST_CASE("sessions: one made through a store is found, touched and ended through another") {
  testing::TestServer server;
  AddCoordinators(server.store(), {"a", "b", "c", "d"});
  std::unique_ptr<SqlStore> other_store = server.Open();  // A second node on the database.
  dashboard::SessionOptions options;
  options.idle_timeout_ms = 1000;
  options.max_age_ms = 5000;
  options.max_sessions = 2;
  options.touch_interval_ms = 0;
  dashboard::SessionStore one(server.store(), options);
  dashboard::SessionStore two(*other_store, options);

  const std::string token = CreateIn(one, "a", 0);
  std::optional<dashboard::Session> seen = FindIn(two, token, 900, true);
  REQUIRE(seen.has_value());
  CHECK(seen->name == "a");
  CHECK(seen->role == v1::ROLE_VIEWER);
  CHECK(seen->csrf_token.size() >= 40);
  CHECK(FindIn(one, token, 1800, true).has_value());        // Used at 900 through the other.
  CHECK_FALSE(FindIn(two, token, 2900, true).has_value());  // Idle too long.
  CHECK_FALSE(FindIn(one, token, 1000, true).has_value());  // Removed when seen: not revived.

  // Eviction of the least recently used, whichever node made or used the sessions.
  const std::string x = CreateIn(one, "b", 10);
  const std::string y = CreateIn(two, "c", 20);
  CHECK(FindIn(two, x, 30, true).has_value());
  const std::string z = CreateIn(one, "d", 40);  // Evicts y.
  CHECK(FindIn(two, x, 50, false).has_value());
  CHECK_FALSE(FindIn(one, y, 50, false).has_value());
  CHECK(FindIn(two, z, 50, false).has_value());

  // Logout on one node ends the session on the other.
  REQUIRE(two.Remove(z).ok());
  CHECK_FALSE(FindIn(one, z, 60, false).has_value());

  // Max age holds across nodes whatever the use.
  const std::string old = CreateIn(two, "c", 100);
  for (int64_t t = 900; t < 5100; t += 800) REQUIRE(FindIn(one, old, t, true).has_value());
  CHECK_FALSE(FindIn(two, old, 5100, true).has_value());
}

TEST_CASE("sessions: disabling a coordinator ends its sessions on every node") {
  testing::TestServer server;
  AddCoordinators(server.store(), {"a", "b"});
  std::unique_ptr<SqlStore> other_store = server.Open();
  dashboard::SessionStore one(server.store(), {});
  dashboard::SessionStore two(*other_store, {});
  const int64_t now = NowMs();
  const std::string a1 = CreateIn(one, "a", now);
  const std::string a2 = CreateIn(two, "a", now);
  const std::string b1 = CreateIn(one, "b", now);
  REQUIRE(other_store->SetCoordinatorDisabled("a", true).ok());
  CHECK_FALSE(FindIn(one, a1, now, false).has_value());
  CHECK_FALSE(FindIn(one, a2, now, false).has_value());
  CHECK(FindIn(two, b1, now, false).has_value());
  REQUIRE(one.RemoveAllOf("b").ok());
  CHECK_FALSE(FindIn(two, b1, now, false).has_value());
  // A session for nobody is refused.
  CHECK(one.Create("nobody", v1::ROLE_ADMIN, now).status().code() == StatusCode::kNotFound);
}

TEST_CASE("sessions: a use is written only when the stored one is a minute old") {
  testing::TestServer server;
  AddCoordinators(server.store(), {"a"});
  std::unique_ptr<SqlStore> other_store = server.Open();
  dashboard::SessionOptions options;  // Idle 120 min: a use is written once a minute at most.
  dashboard::SessionStore one(server.store(), options);
  const std::string token = CreateIn(one, "a", 1'000'000);
  const std::string key = protocol::Sha256(token);
  auto stored_use = [&]() {
    Result<std::optional<CoordinatorSession>> row = other_store->FindSession(key);
    REQUIRE(row.ok());
    REQUIRE(row->has_value());
    return (*row)->last_used_ms;
  };
  REQUIRE(FindIn(one, token, 1'030'000, true).has_value());
  CHECK(stored_use() == 1'000'000);  // 30 s later: not written.
  REQUIRE(FindIn(one, token, 1'060'000, true).has_value());
  CHECK(stored_use() == 1'060'000);  // 60 s later: written.
  REQUIRE(FindIn(one, token, 1'200'000, false).has_value());
  CHECK(stored_use() == 1'060'000);  // Not a use (an event stream's check).
  // A touch never moves the last use backwards (another node's clock may be behind).
  REQUIRE(other_store->TouchSession(key, 1'000'000).ok());
  CHECK(stored_use() == 1'060'000);

  // The database holds the token's SHA-256, never the token.
  std::unique_ptr<sql::Connection> direct = server.ConnectDirectly();
  sql::Statement rows(*direct, "SELECT token_hash, name, csrf_token FROM coordinator_sessions");
  int count = 0;
  while (rows.Step().value()) {
    ++count;
    CHECK(rows.Blob(0) == key);
    CHECK(rows.Blob(0).find(token) == std::string::npos);
    CHECK(rows.Text(2).find(token) == std::string::npos);
  }
  CHECK(count == 1);
}

TEST_CASE("dashboard: a login on one node works on another and survives a restart") {
  DashboardServer s;
  const std::pair<std::string, std::string> login = s.Login("ada");
  const std::string& cookie = login.first;
  const std::string& csrf = login.second;
  std::unique_ptr<SqlStore> other_store = s.server.Open();
  auto other = std::make_unique<dashboard::Dashboard>(*other_store, TestDashboardOptions());
  auto ask = [&](dashboard::Dashboard& node, const std::string& method, const std::string& path) {
    HttpRequest request{method, path, method == "POST" ? "{}" : ""};
    request.headers["cookie"] = cookie;
    request.headers["x-csrf-token"] = csrf;
    request.headers["content-type"] = "application/json";
    request.remote_address = "10.0.0.1";
    return node.Handle(request);
  };
  HttpResponse session = ask(*other, "GET", "/api/session");
  REQUIRE(session.status == 200);
  CHECK(FromJson<v1::SessionInfo>(session.body).name() == "ada");
  CHECK(FromJson<v1::SessionInfo>(session.body).csrf_token() == csrf);

  // A restart of the other node: its store and dashboard closed and opened again.
  other.reset();
  other_store.reset();
  other_store = s.server.Open();
  other = std::make_unique<dashboard::Dashboard>(*other_store, TestDashboardOptions());
  CHECK(ask(*other, "GET", "/api/overview").status == 200);

  // Logout through the other node ends the session here.
  CHECK(ask(*other, "POST", "/api/logout").status == 200);
  CHECK(s.Request("GET", "/api/overview", "", cookie).status == 401);
}

}  // namespace
}  // namespace vigil::syncd
