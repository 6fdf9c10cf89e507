// The HTTP layer's only logic: a request in, a response out, no sockets (STYLE.md, after
// Beast's handle_request). The Beast server (server.cc) and the tests both call it.
//
// Endpoints: POST /v1/push, POST /v1/enroll, POST /v1/pull, GET /healthz, GET /metrics.
// Every refusal is an HTTP status with a serialized vigil.v1.Error body.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ingest/checks.h"
#include "ingest/rate_limiter.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "vigil/protocol/crypto.h"

namespace vigil::syncd {

// A request as the router needs it.
struct HttpRequest {
  std::string method;  // "GET", "POST", …
  std::string target;  // "/v1/push"
  std::string body;
};

// An answer. `note` is for the request log (an error code name, never a secret).
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/x-protobuf";
  std::string body;
  std::string note;
};

// Limits and identity the router works with.
struct RouterOptions {
  std::string server_id;
  size_t max_body_bytes = 9u << 20;   // Larger get 413 TOO_LARGE; must admit 8 MiB + 1 KiB.
  double rate_per_device_per_s = 20;  // Token bucket per device (push and pull); <= 0: off.
  double rate_burst = 40;
};

class Router {
 public:
  // `store` and `metrics` must outlive the router. `receipt_key` signs every receipt.
  Router(Store& store, Metrics& metrics,
         std::shared_ptr<const protocol::Ed25519PrivateKey> receipt_key, RouterOptions options);

  // Handles `request` and calls `done` exactly once, possibly on another thread (the store's
  // writer), after anything acknowledged is durable. Never throws.
  void HandleAsync(HttpRequest request, std::function<void(HttpResponse)> done);

  // The same, waiting for the answer. For tests and tools; not for I/O threads.
  HttpResponse Handle(HttpRequest request);

  Metrics& metrics() { return metrics_; }

  // While draining (shutting down), GET /healthz answers 503 so load balancers move away.
  void SetDraining(bool draining) { draining_ = draining; }

 private:
  void Push(HttpRequest request, std::function<void(HttpResponse)> done);
  void Enroll(HttpRequest request, std::function<void(HttpResponse)> done);
  void Pull(HttpRequest request, std::function<void(HttpResponse)> done);
  CheckContext MakeContext();
  // Builds the answer for a refusal, counting it in metrics and (when `persist`) the store.
  HttpResponse Refuse(const Refusal& refusal, bool persist = true);
  // Maps a store failure to a refusal.
  Refusal RefusalForStoreStatus(const Status& status, v1::ErrorCode denied_code);

  Store& store_;
  Metrics& metrics_;
  std::shared_ptr<const protocol::Ed25519PrivateKey> receipt_key_;
  const RouterOptions options_;
  RateLimiter rate_limiter_;
  std::atomic<bool> draining_{false};
};

// Signs `receipt` (with server_id set) as SignatureInput(kReceiptLabel, server_id, bytes).
Result<v1::SignedReceipt> SignReceipt(const protocol::Ed25519PrivateKey& key,
                                      const std::string& server_id, v1::Receipt receipt);

}  // namespace vigil::syncd
