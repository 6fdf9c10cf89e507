// A refused request: the HTTP status and the vigil.v1.Error body (docs/architecture.md §4 step 8).
#pragma once

#include <cstdint>
#include <string>

#include "vigil/v1/sync.pb.h"

namespace vigil::syncd {

// Why and how a request was refused.
struct Refusal {
  int http_status = 500;
  v1::Error error;
  int64_t retry_after_s = 0;  // > 0: sent as Retry-After.
};

// The one HTTP status of each error code (400, 401, 403, 409, 413, 429, 500, 503). The HTTP
// layer answers some refusals with another status: 404 and 405 (MALFORMED), 431 (TOO_LARGE).
int HttpStatusFor(v1::ErrorCode code);

// A refusal with the code's status; retryable for RATE_LIMITED, UNAVAILABLE and INTERNAL
// (429 and 5xx), the statuses clients retry.
Refusal MakeRefusal(v1::ErrorCode code, std::string message, uint64_t expected_seq = 0);

// "BAD_SIGNATURE" and so on.
std::string ErrorCodeName(v1::ErrorCode code);

}  // namespace vigil::syncd
