// The coordinators' dashboard behind syncd's HTTPS port (docs/dashboard.md): the JSON API
// under /api/, Server-Sent Events at /api/events and the page's files under /dashboard/.
//
// Requests run on the dashboard's own worker threads, never on the I/O threads that serve
// devices, so that a slow query or a login's scrypt cannot stall ingest. A full worker queue
// answers 503.
//
// INVARIANTS
//  1. Every /api/ request but POST /api/login needs a valid session cookie (401 otherwise).
//  2. Every POST comes from syncd's own page as far as the browser says (Origin,
//     Sec-Fetch-Site: 403 ORIGIN otherwise; dashboard/request_origin.h), and every POST but
//     /api/login needs the session's CSRF token in X-CSRF-Token (403 CSRF), checked in
//     constant time, before anything else happens.
//  3. Roles are checked here, on the server: viewer < coordinator < admin (403 FORBIDDEN).
//  4. Every change names its coordinator and reason in the audit log (the store writes the
//     entry in the change's own transaction).
//  5. Logins are throttled per (name, address range), never locked per name
//     (dashboard/login_throttle.h); they take JSON only (415 otherwise).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dashboard/events.h"
#include "dashboard/login_throttle.h"
#include "dashboard/sessions.h"
#include "http/http_types.h"
#include "store/store.h"

namespace vigil::syncd::dashboard {

// How the dashboard behaves; defaults are the documented ones.
struct DashboardOptions {
  std::string server_id;
  // false only when syncd serves plain HTTP on loopback (--no-tls, behind a TLS-terminating
  // proxy): no Secure cookie, and an Origin may be http:// or https://.
  bool secure_cookie = true;
  SessionOptions sessions;
  LoginThrottleOptions login;
  int64_t silent_after_ms = 2 * 3600 * 1000;  // Overview's silent observers.
  int64_t overview_refresh_ms = 1000;         // Overview recomputed at most this often.
  int64_t heartbeat_ms = 15000;               // SSE comment lines.
  size_t max_event_streams = 200;
  int workers = 2;
  size_t max_queue = 256;
  size_t max_body_bytes = 64 * 1024;
  std::string assets_dir;  // Serve the page's files from here instead of the built-in copy.
};

class Dashboard {
 public:
  // `store` must outlive the dashboard.
  Dashboard(Store& store, DashboardOptions options);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // Whether `target` is the dashboard's: "/", "/dashboard…", "/api/…".
  static bool Serves(const std::string& target);

  // Queues `request` to a worker; `done` runs there (or here, with 503, when the queue is full).
  void HandleAsync(HttpRequest request, std::function<void(HttpResponse)> done);
  // Handles `request` on the calling thread.
  HttpResponse Handle(const HttpRequest& request);

  // Ends every open event stream's subscription (the server is stopping).
  void DropEventStreams() { events_.Close(); }
  size_t open_event_streams() { return events_.size(); }

  // One request with its session, as the handlers see it (api_internal.h).
  struct Call;

 private:
  HttpResponse Route(const HttpRequest& request);
  HttpResponse Api(Call& call);
  HttpResponse Login(Call& call);
  HttpResponse Logout(Call& call);
  HttpResponse SessionInfo(Call& call);
  HttpResponse Overview(Call& call);
  HttpResponse Events(Call& call);
  HttpResponse Forms(Call& call);
  HttpResponse Coverage(Call& call);
  HttpResponse Station(Call& call, const std::string& code);
  HttpResponse SetOverride(Call& call);
  HttpResponse Conflicts(Call& call);
  HttpResponse Cases(Call& call);
  HttpResponse Case(Call& call, const std::string& id);
  HttpResponse SetCaseStatus(Call& call, const std::string& id);
  HttpResponse Devices(Call& call);
  HttpResponse Revoke(Call& call, const std::string& id);
  HttpResponse Alerts(Call& call);
  HttpResponse Audit(Call& call);
  HttpResponse Quarantine(Call& call);
  HttpResponse ReleaseQuarantine(Call& call);
  HttpResponse Export(Call& call, const std::string& what);
  HttpResponse Asset(const std::string& path);

  // The overview as JSON, recomputed when the store changed and the last one is older than
  // overview_refresh_ms.
  Result<std::string> OverviewJson();
  void WorkerLoop();
  void TickerLoop();

  Store& store_;
  const DashboardOptions options_;
  SessionStore sessions_;
  LoginThrottle login_throttle_;
  EventHub events_;

  std::mutex overview_mu_;
  std::string overview_json_;     // GUARDED_BY(overview_mu_)
  uint64_t overview_change_ = 0;  // GUARDED_BY(overview_mu_)
  int64_t overview_at_ms_ = 0;    // GUARDED_BY(overview_mu_)

  std::mutex mu_;
  std::condition_variable cv_;               // Workers wait on it for jobs.
  std::condition_variable ticker_cv_;        // The ticker waits on it for its period or stopping.
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;
  std::thread ticker_;
};

// Human name of a role: "viewer", "coordinator", "admin".
std::string RoleName(v1::CoordinatorRole role);

}  // namespace vigil::syncd::dashboard
