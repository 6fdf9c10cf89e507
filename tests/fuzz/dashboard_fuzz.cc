// The coordinators' dashboard behind syncd's Router::Handle: the JSON API, its sessions,
// CSRF and roles, the exports and the static files, over a FuzzServer whose store holds a
// checklist and an incident from the fuzz device and an admin coordinator who logged in once.
//
// The first byte picks the credentials the request carries:
//   0  none                      1  the admin's session cookie and CSRF token
//   2  the cookie only           3  the cookie and CSRF token, then header lines
// The rest is "METHOD TARGET", a newline, (for 3: "name: value" lines and an empty line,) and
// the body.
//
// Besides "no crash, no sanitizer finding", the target checks what the dashboard promises:
//  - every answer has a real status, and every JSON answer parses as JSON;
//  - without a session cookie nothing under /api/ but the login succeeds;
//  - with a session but without its CSRF token no POST under /api/ but the login succeeds.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <memory>
#include <string>

#include "dashboard/api.h"
#include "dashboard/password.h"
#include "fuzz_server.h"
#include "fuzz_support.h"
#include "vigil/protocol/signing.h"

namespace vigil {
namespace {

constexpr const char* kAdmin = "ada";
constexpr const char* kPassword = "fuzz admin password";

class DashboardFuzz {
 public:
  DashboardFuzz() {
    syncd::CoordinatorRecord admin;
    admin.name = kAdmin;
    admin.role = v1::ROLE_ADMIN;
    Result<std::string> hash = syncd::dashboard::HashPassword(kPassword);
    fuzz::Require(hash.ok());
    admin.password_hash = *hash;
    fuzz::Require(server_.store().AddCoordinator(admin).ok());

    syncd::dashboard::DashboardOptions options;
    options.server_id = std::string(fuzz::kServerId);
    options.overview_refresh_ms = 0;  // Every request sees the latest state.
    // Wrong passwords must not slow the admin down.
    options.login.free_failures = 1'000'000'000;
    options.login.address_ceiling = 1'000'000'000;
    options.workers = 1;
    dashboard_ = std::make_unique<syncd::dashboard::Dashboard>(server_.store(), options);
    server_.router().SetDashboard(dashboard_.get());

    // Something to show: a checklist and an incident case.
    std::string first =
        fuzz::BatchBytes({fuzz::Submission("11111111-1111-4111-8111-111111111111", 12),
                          fuzz::Incident("22222222-2222-4222-8222-222222222222")},
                         1, protocol::GenesisHash());
    fuzz::Require(server_.router()
                      .Handle({"POST", "/v1/push", fuzz::SignedBatchBody(first, fuzz::kServerId)})
                      .status == 200);
    LogIn();
  }
  ~DashboardFuzz() {
    server_.router().SetDashboard(nullptr);
    dashboard_.reset();
  }
  DashboardFuzz(const DashboardFuzz&) = delete;
  DashboardFuzz& operator=(const DashboardFuzz&) = delete;

  syncd::Router& router() { return server_.router(); }
  const std::string& cookie() const { return cookie_; }
  const std::string& csrf() const { return csrf_; }

  // Logs the admin in (again, after an input logged the session out).
  void LogIn() {
    syncd::HttpRequest request{
        "POST", "/api/login",
        std::string(R"({"name":")") + kAdmin + R"(","password":")" + kPassword + "\"}"};
    request.headers["content-type"] = "application/json";
    syncd::HttpResponse response = router().Handle(std::move(request));
    fuzz::Require(response.status == 200);
    for (const auto& [name, value] : response.headers) {
      if (name == "Set-Cookie") cookie_ = value.substr(0, value.find(';'));
    }
    v1::SessionInfo info;
    fuzz::Require(google::protobuf::util::JsonStringToMessage(response.body, &info).ok());
    csrf_ = info.csrf_token();
    fuzz::Require(!cookie_.empty() && !csrf_.empty());
  }

 private:
  fuzz::FuzzServer server_{"dashboard"};
  std::unique_ptr<syncd::dashboard::Dashboard> dashboard_;
  std::string cookie_;
  std::string csrf_;
};

// Splits off the text up to the next newline (all of it when there is none).
std::string TakeLine(std::string& rest) {
  size_t end = rest.find('\n');
  std::string line = rest.substr(0, end);
  rest.erase(0, end == std::string::npos ? rest.size() : end + 1);
  return line;
}

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace
}  // namespace vigil

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static vigil::DashboardFuzz fuzz_server;
  const int credentials = data[0] % 4;
  std::string rest(vigil::fuzz::AsText(data + 1, size - 1));
  std::string request_line = vigil::TakeLine(rest);
  size_t space = request_line.find(' ');
  vigil::syncd::HttpRequest request{
      request_line.substr(0, space),
      space == std::string::npos ? "" : request_line.substr(space + 1)};
  request.remote_address = "10.1.2.3";
  if (credentials != 0) request.headers["cookie"] = fuzz_server.cookie();
  if (credentials == 1 || credentials == 3) request.headers["x-csrf-token"] = fuzz_server.csrf();
  if (credentials == 3) {
    for (std::string line = vigil::TakeLine(rest); !line.empty() && !rest.empty();
         line = vigil::TakeLine(rest)) {
      size_t colon = line.find(": ");
      if (colon != std::string::npos)
        request.headers[line.substr(0, colon)] = line.substr(colon + 2);
    }
  }
  request.body = std::move(rest);
  const std::string method = request.method;
  const std::string target = request.target;
  const bool has_csrf = request.headers.count("x-csrf-token") != 0;

  vigil::syncd::HttpResponse response = fuzz_server.router().Handle(std::move(request));

  vigil::fuzz::Require(response.status >= 100 && response.status <= 599);
  const bool success = response.status >= 200 && response.status < 300;
  const bool api = vigil::StartsWith(target, "/api/") && !vigil::StartsWith(target, "/api/login");
  if (credentials == 0 && api) vigil::fuzz::Require(!success);
  if (credentials == 2 && !has_csrf && api && method == "POST") vigil::fuzz::Require(!success);
  if (vigil::StartsWith(response.content_type, "application/json") && !response.body.empty()) {
    google::protobuf::Value parsed;
    vigil::fuzz::Require(google::protobuf::util::JsonStringToMessage(response.body, &parsed).ok());
  }
  if (response.event_stream) {
    // Subscribe as a stream that left at once: the hub must drop it cleanly.
    uint64_t id = response.event_stream->subscribe([](const std::string&) { return false; });
    if (id != 0) response.event_stream->unsubscribe(id);
  }
  // An input that ended the session (logout) must not end the fuzzing of what needs one.
  if (credentials != 0 &&
      (response.status == 401 || (vigil::StartsWith(target, "/api/logout") && success))) {
    fuzz_server.LogIn();
  }
  return 0;
}
