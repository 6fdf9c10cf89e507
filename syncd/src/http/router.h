// The HTTP layer's only logic: a request in, a response out, no sockets (STYLE.md, after
// Beast's handle_request). The Beast server (server.cc) and the tests both call it.
//
// Endpoints: POST /v1/push, POST /v1/enroll, POST /v1/pull, GET /healthz, GET /metrics;
// "/", /dashboard… and /api/… go to the coordinators' dashboard when one is attached.
// Every device-facing refusal is an HTTP status with a serialized vigil.v1.Error body.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/http_types.h"
#include "ingest/checks.h"
#include "ingest/failure_limiter.h"
#include "ingest/ingest_service.h"
#include "ingest/rate_limiter.h"
#include "metrics/metrics.h"
#include "store/device_ledger.h"
#include "vigil/protocol/crypto.h"

namespace vigil::syncd {

namespace dashboard {
class Dashboard;
}

// Limits and identity the router works with.
struct RouterOptions {
  std::string server_id;
  size_t max_body_bytes = 9u << 20;   // Larger get 413 TOO_LARGE; must admit 8 MiB + 1 KiB.
  double rate_per_device_per_s = 20;  // Token bucket per device (push and pull); <= 0: off.
  double rate_burst = 40;
  // Decompressed payload bytes one device may send (ingest/byte_budget.h); 0: no limit. A
  // device that sends more gets 429 RATE_LIMITED with Retry-After.
  uint64_t device_bytes_per_minute = 16u << 20;
  uint64_t device_bytes_per_day = 256u << 20;
  // Token bucket per client address on the device endpoints, before any other check; <= 0:
  // off. Generous: carriers put many tablets behind one address.
  double rate_per_address_per_s = 1000;
  double address_burst = 2000;
  // Failed enrollments (unknown, spent or expired codes) per address within the window;
  // beyond it, enrollments from that address get 429 until the window ends.
  int enroll_failures_per_address = 20;
  int64_t enroll_failure_window_ms = 15 * 60 * 1000;
};

class Router {
 public:
  // `ledger` and `metrics` must outlive the router. `receipt_key` signs every receipt.
  Router(DeviceLedger& ledger, Metrics& metrics,
         std::shared_ptr<const protocol::Ed25519PrivateKey> receipt_key, RouterOptions options);

  // Handles `request` and calls `done` exactly once, possibly on another thread (the store's
  // writer), after anything acknowledged is durable. Never throws.
  void HandleAsync(HttpRequest request, std::function<void(HttpResponse)> done);

  // For a request whose client waits for `100 Continue` before sending its body
  // (docs/protocol.md §2): the final answer when the method and target alone settle it (404,
  // 405), counted like any answer; nullopt when the body is wanted. `head` has no body.
  std::optional<HttpResponse> AnswerBeforeBody(const HttpRequest& head);

  // The same, waiting for the answer. For tests and tools; not for I/O threads.
  HttpResponse Handle(HttpRequest request);

  Metrics& metrics() { return metrics_; }

  // Serves the coordinators' dashboard too; `dashboard` must outlive the router's use.
  void SetDashboard(dashboard::Dashboard* dashboard) { dashboard_ = dashboard; }
  // Ends open event streams (the server is stopping).
  void DropEventStreams();

  // While draining (shutting down), GET /healthz answers 503 so load balancers move away.
  void SetDraining(bool draining) { draining_ = draining; }

 private:
  void Push(const HttpRequest& request, std::function<void(HttpResponse)> done);
  void Enroll(const HttpRequest& request, std::function<void(HttpResponse)> done);
  void Pull(const HttpRequest& request, std::function<void(HttpResponse)> done);
  CheckContext MakeContext();
  // Builds the answer for a refusal, counting it in metrics and (when `persist`) the store.
  // Refusals that coordinators should see (bad signatures, revoked devices, equivocations,
  // rate limits, unknown devices) also become alerts about `device_id`.
  HttpResponse Refuse(const Refusal& refusal, bool persist = true,
                      const std::string& device_id = "");
  // Maps a store failure to a refusal: kPermissionDenied to `denied_code`, kAlreadyExists to
  // `exists_code` (UNAVAILABLE: a race between nodes, retryable). The database's own words go
  // to the log (stderr), not to the device.
  Refusal RefusalForStoreStatus(const Status& status, v1::ErrorCode denied_code,
                                v1::ErrorCode exists_code);

  DeviceLedger& ledger_;
  Metrics& metrics_;
  std::shared_ptr<const protocol::Ed25519PrivateKey> receipt_key_;
  const RouterOptions options_;
  IngestService ingest_;
  RateLimiter rate_limiter_;
  ByteBudget byte_budget_;
  RateLimiter address_limiter_;
  FailureLimiter enroll_failures_;
  std::atomic<bool> draining_{false};
  dashboard::Dashboard* dashboard_ = nullptr;
};

}  // namespace vigil::syncd
