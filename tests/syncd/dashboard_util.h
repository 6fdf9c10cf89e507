// Helpers for the dashboard's tests: a TestServer with forms, coordinators of each role and a
// dashboard behind its Router, and readers of JSON answers and headers.
#pragma once

#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dashboard/api.h"
#include "dashboard/password.h"
#include "merge_util.h"

namespace vigil::syncd::testing {

// `json` parsed as an M (the test fails when it is not one).
template <class M>
M FromJson(const std::string& json) {
  M message;
  INFO(json);
  REQUIRE(google::protobuf::util::JsonStringToMessage(json, &message).ok());
  return message;
}

// The value of the response header `name`, or "".
inline std::string HeaderOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

// Options the dashboard's tests start from: the documented ones, but every request sees the
// latest state and a throttled login waits a minute (a test never outlasts it by accident).
inline dashboard::DashboardOptions TestDashboardOptions() {
  dashboard::DashboardOptions options;
  options.server_id = kServerId;
  options.overview_refresh_ms = 0;
  options.login.base_delay_ms = 60 * 1000;
  return options;
}

// A TestServer with forms count and incident, a dashboard, and coordinators of each role:
// vic (viewer), cora (coordinator), ada (admin), each with the password "NAME password!".
class DashboardServer {
 public:
  explicit DashboardServer(dashboard::DashboardOptions options = TestDashboardOptions()) {
    REQUIRE(server.store().PublishForm(CountForm()).ok());
    REQUIRE(server.store().PublishForm(IncidentForm()).ok());
    REQUIRE(server.store().AddObserver("obs2", "Dara", "", {kStation}).ok());
    for (auto [name, role] : {std::pair<const char*, v1::CoordinatorRole>{"vic", v1::ROLE_VIEWER},
                              {"cora", v1::ROLE_COORDINATOR},
                              {"ada", v1::ROLE_ADMIN}}) {
      CoordinatorRecord c;
      c.name = name;
      c.role = role;
      c.password_hash = dashboard::HashPassword(std::string(name) + " password!").value();
      REQUIRE(server.store().AddCoordinator(c).ok());
    }
    dashboard_ = std::make_unique<dashboard::Dashboard>(server.store(), std::move(options));
    server.router().SetDashboard(dashboard_.get());
  }
  ~DashboardServer() { server.router().SetDashboard(nullptr); }
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  // A request as the page sends it: a POST carries Content-Type: application/json; `extra`
  // headers (lower-case names) are added or replace those.
  HttpResponse Request(const std::string& method, const std::string& target,
                       const std::string& body = "", const std::string& cookie = "",
                       const std::string& csrf = "", const std::string& address = "10.0.0.1",
                       const std::map<std::string, std::string>& extra = {}) {
    HttpRequest request{method, target, body};
    if (method == "POST") request.headers["content-type"] = "application/json";
    if (!cookie.empty()) request.headers["cookie"] = cookie;
    if (!csrf.empty()) request.headers["x-csrf-token"] = csrf;
    for (const auto& [name, value] : extra) request.headers[name] = value;
    request.remote_address = address;
    return server.router().Handle(std::move(request));
  }

  // A login attempt of `name` with `password` from `address`.
  HttpResponse TryLogin(const std::string& name, const std::string& password,
                        const std::string& address = "10.0.0.1") {
    return Request("POST", "/api/login",
                   R"({"name":")" + name + R"(","password":")" + password + "\"}", "", "", address);
  }

  // Logs `name` in; returns the cookie header value and the CSRF token.
  std::pair<std::string, std::string> Login(const std::string& name,
                                            const std::string& address = "10.0.0.1") {
    HttpResponse response = TryLogin(name, name + " password!", address);
    REQUIRE(response.status == 200);
    std::string set_cookie = HeaderOf(response, "Set-Cookie");
    REQUIRE(set_cookie.rfind("vigil_session=", 0) == 0);
    auto info = FromJson<v1::SessionInfo>(response.body);
    return {set_cookie.substr(0, set_cookie.find(';')), info.csrf_token()};
  }

  TestDevice Enroll(const std::string& observer, char seed_char) {
    return server.EnrollAs(observer, seed_char);
  }

  void Push(TestDevice& device, const std::vector<v1::Record>& records) {
    REQUIRE(server.Post("/v1/push", device.NextBody(records)).status == 200);
  }

  // Waits for every queued write of the store (alerts are queued, best effort).
  void Flush() { (void)server.store().SetCoordinatorDisabled("(nobody)", true); }

  TestServer server;

 private:
  std::unique_ptr<dashboard::Dashboard> dashboard_;
};

}  // namespace vigil::syncd::testing
