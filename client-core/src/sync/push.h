// The push step of Client::Sync: seal the outbox, send the pending batches in order and keep
// their receipts (NOTES 1-4 in sync/sync_context.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sync/sync_context.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::client::sync {

// A stored batch with what is needed to send and check it.
struct OutgoingBatch {
  uint64_t seq = 0;
  std::string wire;  // serialized SignedBatch
  std::string hash;  // SHA-256 of batch_bytes
  uint32_t record_count = 0;
};

// What pushing a list of batches came to: done, or the server expects an earlier batch that
// was purged here (the pull's resend_from_seq settles it, NOTES 6).
enum class PushOutcome { kDone, kServerBehind };

// Seals the outbox into batches (Client::SealOutbox) and pushes every pending batch.
Result<PushOutcome> Push(Client& client, SyncContext& ctx);

// Pushes `batches` in order (NOTES 1-3). When the server expects an earlier seq it resends
// from there once (4); kServerBehind when it cannot because a batch there was purged.
Result<PushOutcome> PushBatches(SyncContext& ctx, const std::vector<OutgoingBatch>& batches);

// Batches from_seq..to_seq (every one, or only those pending), in order. Fails for a batch
// whose bytes were purged.
Result<std::vector<OutgoingBatch>> LoadBatches(Client::State& state, uint64_t from_seq,
                                               bool pending_only, uint64_t to_seq = INT64_MAX);

// Marks acknowledged batches from..to (and their records) pending again, for a resend (6).
Status MarkPendingAgain(Client::State& state, uint64_t from, uint64_t to);

// Checks a receipt against the batch it acknowledges.
Status CheckReceipt(const v1::SignedReceipt& signed_receipt, const protocol::Ed25519PublicKey& key,
                    const std::string& server_id, const std::string& device_id, uint64_t seq,
                    const std::string& hash);

}  // namespace vigil::client::sync
