#include "ingest/refusal.h"

namespace vigil::syncd {

int HttpStatusFor(v1::ErrorCode code) {
  switch (code) {
    case v1::MALFORMED:
    case v1::WRONG_SERVER:
      return 400;
    case v1::BAD_SIGNATURE:
      return 401;
    case v1::UNKNOWN_DEVICE:
    case v1::DEVICE_REVOKED:
    case v1::ENROLLMENT_CODE_INVALID:
      return 403;
    case v1::SEQUENCE_GAP:
    case v1::CHAIN_MISMATCH:
    case v1::EQUIVOCATION:
    case v1::REPLAYED_PULL:
      return 409;
    case v1::TOO_LARGE:
      return 413;
    case v1::RATE_LIMITED:
      return 429;
    case v1::UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

Refusal MakeRefusal(v1::ErrorCode code, std::string message, uint64_t expected_seq) {
  Refusal refusal;
  refusal.http_status = HttpStatusFor(code);
  refusal.error.set_code(code);
  refusal.error.set_message(std::move(message));
  // The same decision clients take from the status (docs/protocol.md §12): 429 and 5xx.
  refusal.error.set_retryable(code == v1::RATE_LIMITED || code == v1::UNAVAILABLE ||
                              code == v1::INTERNAL);
  refusal.error.set_expected_seq(expected_seq);
  return refusal;
}

std::string ErrorCodeName(v1::ErrorCode code) {
  const std::string& name = v1::ErrorCode_Name(code);
  return name.empty() ? "ERROR_" + std::to_string(static_cast<int>(code)) : name;
}

}  // namespace vigil::syncd
