// The network half of the device: how it talks to syncd (HTTPS with a pinned key) and what
// a sync reports. The Client methods that use these are in client.h (Enroll, Sync, …).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::client {

// One HTTP answer.
struct HttpResult {
  long status = 0;
  std::string body;
};

// Sends requests to one syncd. Implementations: libcurl (MakeCurlTransport); an Android app
// may supply its own (e.g. over OkHttp) as long as it pins the same key.
class Transport {
 public:
  virtual ~Transport() = default;
  // POSTs a protobuf `body` to base URL + `path` ("/v1/push"). Failures: kUnavailable for
  // network faults and timeouts (retry), kUnauthenticated when the server's TLS key does
  // not match the pin (never retried: someone may be in the middle).
  virtual Result<HttpResult> Post(std::string_view path, std::string_view body) = 0;
};

// How to reach syncd.
struct TransportOptions {
  std::string base_url;  // "https://host:port"; plain http is refused.
  std::string tls_pin;   // SHA-256 of the server's SubjectPublicKeyInfo, 32 raw bytes. Required.
  // A CA certificate file to verify the chain and host name with, in addition to the pin.
  // Without it the pin alone authenticates the server (self-signed deployments).
  std::string ca_file;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds request_timeout{60000};
  size_t max_response_bytes = 16u << 20;
  // When set and it becomes true (from any thread), a request in progress ends within about
  // a second with kAborted (libcurl's transfer-progress callback; docs/embedding.md).
  const std::atomic<bool>* cancel = nullptr;
};

// A libcurl transport: TLS 1.2+, the key pinned (CURLOPT_PINNEDPUBLICKEY), keep-alive (one
// connection reused across requests), timeouts, a cap on response size.
Result<std::unique_ptr<Transport>> MakeCurlTransport(const TransportOptions& options);

// Makes the transport for one of the deployment's server URLs (options.base_url); every URL
// of a deployment has the same pin (docs/protocol.md §5.1).
using TransportFactory =
    std::function<Result<std::unique_ptr<Transport>>(const TransportOptions& options)>;

// Where a sync stands, for progress display. The counts never go down during one sync; a
// sync that succeeds ends with records_done == records_total.
struct SyncProgress {
  uint64_t batches_done = 0;
  uint64_t batches_total = 0;
  uint64_t records_done = 0;   // Records in the batches acknowledged so far.
  uint64_t records_total = 0;  // Records in the batches this sync has to send (so far known).
  uint64_t bytes_sent = 0;     // Bytes of the batches acknowledged so far.
  // "seal", "push", "pull", "apply", "purge", "done", or a retry:
  // "push batch 3: retry 1 in 210 ms (…)".
  std::string phase;
};

// How a sync behaves.
struct SyncOptions {
  // Attempts per request for retryable failures (network, 5xx, 408, 429); 1 = no retry.
  int max_attempts = 6;
  std::chrono::milliseconds base_delay{500};   // Exponential backoff with full jitter …
  std::chrono::milliseconds max_delay{30000};  // … capped here.
  std::function<void(const SyncProgress&)> progress;
  // Waits between attempts; tests may replace it. Default: sleeps.
  std::function<void(std::chrono::milliseconds)> wait;
  // Overrides how the server is reached (tests, platform HTTP stacks): this one transport,
  // no failover between the deployment's URLs. Default: a transport per URL (below).
  std::shared_ptr<Transport> transport;
  // Makes the transport of each of the deployment's server URLs, the pin stored at enrollment
  // and `ca_file` in its options (platform HTTP stacks, tests). Default: MakeCurlTransport.
  // The sync starts at the URL that last answered; every failure retried above moves the next
  // attempt to the next URL of the list (docs/protocol.md §5.1, §12).
  TransportFactory make_transport;
  std::string ca_file;
  bool pull = true;  // Pull forms, assignments, broadcasts and incident statuses after pushing.
  // After a successful sync, erase the content of records (and batch bytes) whose receipt is
  // older than this, so a seized tablet holds little (ids, hashes and receipts stay). Only
  // batches a completed server backup holds are erased (docs/protocol.md §10.4).
  std::chrono::hours purge_after{24};
  // When set and it becomes true (from any thread), the sync stops within about a second
  // with kAborted: between requests, during a backoff wait, and inside a libcurl transfer
  // (a transport given in `transport` is only interrupted between requests). Whatever was
  // acknowledged stays acknowledged; the rest is sent, byte for byte, by the next sync.
  const std::atomic<bool>* cancel = nullptr;
};

// True when `options.cancel` is set and true.
inline bool SyncCancelled(const SyncOptions& options) {
  return options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed);
}

// What a sync did.
struct SyncReport {
  uint64_t batches_sent = 0;
  uint64_t records_ok = 0;
  uint64_t records_duplicate = 0;
  uint64_t records_rejected = 0;
  std::vector<std::string> rejections;  // "record <id>: <reason>"
  // Stored by the server but held in quarantine (docs/protocol.md §8.5): it failed a check
  // there (a form rule, the station, the observer) and waits for a coordinator.
  uint64_t records_held = 0;
  std::vector<std::string> held;  // "record <id>: <reason>"
  uint64_t retries = 0;
  uint64_t bytes_sent = 0;
  uint64_t forms_received = 0;
  uint64_t broadcasts_received = 0;
  uint64_t incident_updates = 0;
  uint64_t server_last_seq = 0;  // The server's record of this device's chain.
  // The newest completed server backup's record of this device's chain (0: no backup yet);
  // nothing above it is purged (docs/protocol.md §10.4).
  uint64_t backed_up_seq = 0;
  // After a server restore (docs/protocol.md §10.4): batches the server asked for again and
  // got, unchanged, and runs of batches it lost for good because this device had purged
  // them ("4..6"); the server records and alerts each such gap.
  uint64_t batches_resent = 0;
  std::vector<std::string> lost_batches;
  // The server URL that answered last ("" when none did); the next sync starts there.
  std::string server_url;
  // What the device ignored and why, e.g. a list of server URLs from the server that breaks
  // the rules of docs/protocol.md §5.1 (the list held before stays in force).
  std::vector<std::string> warnings;
};

// What `observer receipts verify` found.
struct ReceiptCheck {
  uint64_t verified = 0;
  std::vector<std::string> failures;  // "batch 7: signature does not verify"
};

}  // namespace vigil::client
