// Logging in and out of the dashboard (docs/dashboard.md "Access"): JSON only, printable
// names, throttled per (name, address range) and never locked per name
// (dashboard/login_throttle.h); failures and pauses are alerts.
#include <algorithm>

#include "dashboard/api_internal.h"
#include "dashboard/password.h"
#include "dashboard/request_origin.h"
#include "store/store.h"

namespace vigil::syncd::dashboard {
namespace {

// Verified when the name is unknown, so that a wrong name costs the same time as a wrong
// password (the name's existence does not leak by timing).
constexpr const char* kDummyHash =
    "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// Distinct address ranges failing for one name at which an alert names the pattern.
bool IsSpreadThreshold(int ranges) {
  return ranges == 3 || ranges == 10 || ranges == 30 || ranges == 100;
}

std::string Minutes(int64_t ms) { return std::to_string(std::max<int64_t>(1, ms / 60000)); }

}  // namespace

HttpResponse Dashboard::Login(Call& call) {
  if (!IsJsonContentType(call.request.Header("content-type"))) {
    return ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "log in with Content-Type: application/json");
  }
  v1::LoginRequest login;
  if (Status parsed = ParseJsonBody(call.request.body, login); !parsed.ok()) {
    return ApiError(400, "INVALID", parsed.message());
  }
  if (Status name = CheckCoordinatorName(login.name()); !name.ok()) {
    return ApiError(400, "INVALID", name.message());
  }
  const std::string& name = login.name();
  const std::string& address = call.request.remote_address;
  const std::string range = LoginThrottle::AddressRange(address);
  const LoginVerdict verdict = login_throttle_.Check(name, address, call.now_ms);
  if (verdict.retry_after_ms > 0) {
    store_.RecordAlert(
        "LOGIN_RATE_LIMITED", "",
        verdict.address_paused
            ? "logins from " + range + " paused for every name after " +
                  std::to_string(options_.login.address_ceiling) + " failed logins within " +
                  Minutes(options_.login.window_ms) + " min"
            : "logins as " + name + " from " + range + " slowed down after repeated failures");
    HttpResponse response =
        ApiError(429, "RATE_LIMITED", "too many failed logins; try again later");
    response.headers.emplace_back("Retry-After",
                                  std::to_string((verdict.retry_after_ms + 999) / 1000));
    return response;
  }
  Result<std::optional<CoordinatorRecord>> found = store_.FindCoordinator(name);
  if (!found.ok()) return StoreError(found.status());
  const bool known = found->has_value() && !(*found)->disabled;
  const bool match =
      VerifyPassword(login.password(), known ? (*found)->password_hash : kDummyHash) && known;
  if (!match) {
    // Counted at the failure's own time: scrypt took a while since the request arrived.
    const LoginFailure failure = login_throttle_.Fail(name, address, NowMs());
    store_.RecordAlert("LOGIN_FAILED", "", "failed login as " + name + " from " + address);
    if (IsSpreadThreshold(failure.name_ranges)) {
      store_.RecordAlert("LOGIN_FAILED", "",
                         "logins as " + name + " failed from " +
                             std::to_string(failure.name_ranges) + " address ranges within " +
                             Minutes(options_.login.window_ms) +
                             " min; each range is slowed down on its own, the name is not "
                             "locked");
    }
    if (failure.address_paused) {
      store_.RecordAlert("LOGIN_RATE_LIMITED", "",
                         "logins from " + range + " paused for every name after " +
                             std::to_string(options_.login.address_ceiling) +
                             " failed logins within " + Minutes(options_.login.window_ms) + " min");
    }
    return ApiError(401, "UNAUTHENTICATED", "wrong name or password");
  }
  login_throttle_.Succeed(name, address);
  auto created = sessions_.Create((*found)->name, (*found)->role, call.now_ms);
  if (!created.ok()) {
    if (created.status().code() == StatusCode::kUnavailable) return StoreError(created.status());
    return ApiError(500, "INTERNAL", "no session could be made");
  }
  v1::AuditEntry audit;
  audit.set_actor((*found)->name);
  audit.set_action("session.login");
  audit.set_target(address);
  audit.set_after(RoleName((*found)->role));
  (void)store_.LogCoordinatorAction(audit);
  call.session = created->second;
  HttpResponse response = SessionInfo(call);
  response.headers.emplace_back("Set-Cookie", std::string(kCookieName) + "=" + created->first +
                                                  "; Path=/; HttpOnly; SameSite=Strict" +
                                                  (options_.secure_cookie ? "; Secure" : ""));
  response.note = "login " + (*found)->name;
  return response;
}

HttpResponse Dashboard::Logout(Call& call) {
  if (Status removed = sessions_.Remove(call.token); !removed.ok()) return StoreError(removed);
  v1::AuditEntry audit;
  audit.set_actor(call.session->name);
  audit.set_action("session.logout");
  audit.set_target(call.request.remote_address);
  (void)store_.LogCoordinatorAction(audit);
  HttpResponse response = JsonAnswer(v1::ApiError());
  response.body = "{}";
  response.headers.emplace_back(
      "Set-Cookie", std::string(kCookieName) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" +
                        (options_.secure_cookie ? "; Secure" : ""));
  return response;
}

}  // namespace vigil::syncd::dashboard
