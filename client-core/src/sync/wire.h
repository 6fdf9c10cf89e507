// Shared by enrollment and sync: posting with retries, decoding refusals.
#pragma once

#include <string>
#include <string_view>

#include "sync/route.h"
#include "vigil/client/sync.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::client::wire {

// The refusal in a non-200 answer, as a Status whose message names the server's code, e.g.
// "syncd refused (403 DEVICE_REVOKED): device revoked by coordinators".
Status Refusal(const HttpResult& result, v1::Error* error_out = nullptr);

// POSTs with retries per docs/architecture.md §4 step 8: network faults, 5xx, 408, 429 and a 200
// whose body `valid` rejects (a captive portal) are retried with exponential backoff and full
// jitter; anything else is returned at once. Each retried attempt goes to the route's next
// server URL (route.h); the route learns which one answered. Counts retries in `retries`.
// Each retry is reported to options.progress with the counts of `so_far` (when given).
// options.cancel ends it with kAborted before an attempt and during a backoff wait.
Result<HttpResult> PostWithRetry(sync::Route& route, std::string_view path, std::string_view body,
                                 const SyncOptions& options,
                                 const std::function<bool(const std::string&)>& valid,
                                 uint64_t& retries, const std::string& what,
                                 const SyncProgress* so_far = nullptr);

// The same for a request that must differ on every attempt (a pull and its nonce,
// docs/protocol.md §10.1): `make_body` builds the body of each attempt, and a refusal that
// `retry_refusal` accepts is retried like a network fault.
Result<HttpResult> PostWithRetry(sync::Route& route, std::string_view path,
                                 const std::function<Result<std::string>()>& make_body,
                                 const SyncOptions& options,
                                 const std::function<bool(const std::string&)>& valid,
                                 const std::function<bool(const HttpResult&)>& retry_refusal,
                                 uint64_t& retries, const std::string& what,
                                 const SyncProgress* so_far = nullptr);

}  // namespace vigil::client::wire
