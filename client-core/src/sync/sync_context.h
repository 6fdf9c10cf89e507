// What the steps of Client::Sync share (sync_engine.cc composes them): push.cc sends the
// sealed outbox and keeps the receipts, pull.cc asks syncd for its state, apply.cc writes that
// state into the store.
//
// NOTES ON PUSH, RESEND AND PURGE (see also the outbox state machine in
// outbox/batch_sealer.cc; the server's side is docs/protocol.md §10.4)
//
//  1. Batches go out in sequence order, each as the exact bytes stored when it was sealed
//     (push.cc).
//  2. A batch becomes acknowledged only with a receipt that verifies with the server's key
//     and names this device, its sequence number and the SHA-256 of its bytes; the receipt,
//     the batch state and its records' state change in one transaction (MarkAcknowledged,
//     push.cc).
//  3. A refusal that retrying cannot fix stops the sync and is reported by name; whatever
//     was acknowledged before it stays acknowledged.
//  4. When syncd expects an earlier sequence number than the one sent (SEQUENCE_GAP or
//     CHAIN_MISMATCH naming an earlier expected_seq), the device resends from there once,
//     using the stored bytes (PushBatches, push.cc). If one of those batches was purged it
//     cannot, and the pull that follows settles it (6).
//  5. Every pull says acknowledged_seq, the highest seq this device holds a receipt for
//     (pull.cc), and the answer's last_accepted_seq, backups_taken and backed_up_seq are kept
//     in meta (server_last_seq, backups_taken, backed_up_seq) in the transaction that applies
//     it (apply.cc).
//  6. An answer with resend_from_seq (the server was restored and lost batches this device
//     holds receipts for) starts the resend (Resend, sync_engine.cc), within the same Sync:
//     from that seq on, each run of batches still held is marked pending again (records back
//     to batched, old receipts kept until new ones replace them) and pushed unchanged, same
//     bytes and signatures; each run of purged batches is declared lost with a pull carrying
//     lost_through_seq (the run's last seq) and lost_through_hash (its stored hash), so that
//     the server records the gap and the next held batch chains on. Record ids are
//     idempotent on the server, so nothing is doubled.
//  7. PurgeAcknowledged (sync_engine.cc) erases a batch's bytes and its records' content only
//     when its receipt is older than the purge wait AND its seq is at most backed_up_seq (once
//     backups_taken) or at most server_last_seq (before any backup): never a batch the server
//     has not confirmed it holds, and once backups run, only what a completed backup holds.
//     Without any pull answer yet, nothing is purged.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "client_state.h"
#include "sync/route.h"
#include "vigil/client/sync.h"
#include "vigil/protocol/crypto.h"

namespace vigil::client::sync {

// What one Sync shares between its steps.
struct SyncContext {
  Client::State& state;
  const SyncOptions& options;
  Route route;
  protocol::Ed25519PublicKey receipt_key;
  std::string server_id;
  SyncReport report;
  SyncProgress progress;
};

// The context of a sync of an enrolled device: the server's id and receipt key, and the route
// to the deployment's servers (route.h: options.transport, else a transport per URL pinned
// to the enrolled key).
// FailedPrecondition when the device is not enrolled.
Result<SyncContext> StartSync(Client::State& state, const SyncOptions& options);

// Tells options.progress (when set) that the sync is now in `phase`.
void ReportPhase(SyncContext& ctx, std::string_view phase);

// A meta value written by the sync as decimal text; 0 when unset.
Result<uint64_t> MetaUint(Client::State& state, std::string_view key);

}  // namespace vigil::client::sync
