// The checks a device request passes on an I/O thread, before anything is queued to the
// writer (docs/architecture.md §4 step 5, in this order):
//
//   1. body size cap                        413 TOO_LARGE
//   2. decode SignedBatch and Batch         400 MALFORMED
//   3. known device / active device         403 UNKNOWN_DEVICE / DEVICE_REVOKED
//   4. per-device rate limit                429 RATE_LIMITED
//   5. Ed25519 signature over SignatureInput(kBatchLabel, server_id, batch_bytes)
//                                           401 BAD_SIGNATURE
//   5b. per-device budget of decompressed bytes (byte_budget.h)
//                                           429 RATE_LIMITED, with Retry-After
//
// The sequence rules (6) and the per-record rules (7) need the device's chain and are
// applied by the store's writer, inside its transaction (see sql_store.cc). These are
// pure functions: no sockets, no threads; the device lookup is passed in.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/byte_budget.h"
#include "ingest/rate_limiter.h"
#include "ingest/refusal.h"
#include "store/store.h"

namespace vigil::syncd {

// Finds a device; nullopt when unknown.
using DeviceLookup =
    std::function<Result<std::optional<DeviceRecord>>(const std::string& device_id)>;

// What the checks need besides the request body.
struct CheckContext {
  std::string server_id;
  size_t max_body_bytes = 9u << 20;
  DeviceLookup find_device;
  RateLimiter* rate_limiter = nullptr;  // May be null: no limit.
  ByteBudget* byte_budget = nullptr;    // May be null: no budget.
  int64_t now_ms = 0;
};

// Steps 1-5 for POST /v1/push. Either a refusal or a batch ready for the writer.
struct PushCheck {
  std::optional<Refusal> refusal;
  VerifiedBatch batch;
  DeviceRecord device;  // The device as read for the checks (a snapshot).
};
PushCheck CheckPush(std::string_view body, const CheckContext& context);

// The answer a writer's verdict gives when it is not an accepted, decodable batch
// (equivocation, gap, chain mismatch, undecodable payload). nullopt for accept and replay.
std::optional<Refusal> RefusalForOutcome(const AppendOutcome& outcome);

// POST /v1/pull: size, decode, device, rate, signature with kPullLabel and server_id.
struct PullCheck {
  std::optional<Refusal> refusal;
  PullParams params;
};
PullCheck CheckPull(std::string_view body, const CheckContext& context);

// POST /v1/enroll: size, decode, key size, proof signature by the new key over
// SignatureInput(kEnrollLabel, code, public_key). The code itself is checked by the store.
struct EnrollCheck {
  std::optional<Refusal> refusal;
  EnrollParams params;
};
EnrollCheck CheckEnroll(std::string_view body, const CheckContext& context);

// Longest enrollment code accepted.
inline constexpr size_t kMaxEnrollCodeLength = 128;

}  // namespace vigil::syncd
