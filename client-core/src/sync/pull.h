// The pull step of Client::Sync: ask syncd for what the device should know (forms, its
// assignment, broadcasts, incident statuses, held records, the server's view of the chain
// and of its backups). Nothing is stored here; apply.h does that.
#pragma once

#include <cstdint>
#include <string>

#include "sync/sync_context.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::client::sync {

// A chain run declared lost in a pull (NOTES 6 in sync/sync_context.h).
struct LostRun {
  uint64_t through_seq = 0;
  std::string through_hash;
};

// Sends one signed pull (a new nonce on every attempt, docs/protocol.md §10.1) saying the
// device's cursor, pending records and acknowledged_seq (NOTES 5), with `lost` when not null,
// and returns the answer.
Result<v1::PullResponse> Pull(SyncContext& ctx, const LostRun* lost);

}  // namespace vigil::client::sync
