// Ingest (docs/architecture.md §4, docs/protocol.md §8): what syncd decides for a pushed batch
// once its signature verified, and for a held record a coordinator releases. The decisions
// live here; the rows they read and write go through the device ledger's repository
// (store/ledger_tx.h), inside the store's write transaction, so that nothing is acknowledged
// before it is durable and every backend applies the same rules.
//
// NOTES ON A DEVICE'S CHAIN OF BATCHES (Append)
//
//  1. devices.last_seq / last_hash are the seq and SHA-256 of the newest batch stored for the
//     device (or of the last batch of a recorded chain gap, note 7); batches holds every
//     accepted batch, keyed (device_id, seq), seq 1..last_seq with no gap but those recorded
//     in chain_gaps, each batch's prev_batch_hash equal to the hash of the one before.
//  2. The I/O thread's checks (size, decode, device, rate, signature) ran on a snapshot; the
//     sequence verdict is taken again here, with the device locked (LedgerTx::LockDevice), so
//     no other push of the same device interleaves, on this node or another.
//     protocol::CheckSequence decides:
//       kAccept        -> store the batch, its records and receipt; advance last_seq/last_hash
//       kReplay        -> answer the stored PushResponse byte for byte; write nothing
//       kEquivocation  -> keep the other batch in equivocations (once per distinct hash)
//       kGap / kChainMismatch -> write nothing; expected_seq = last_seq + 1
//  3. An accepted batch whose payload does not decode is refused (400) and not stored.
//  4. Records are idempotent by id (record_intake.h).
//  5. log_index is 1 + the largest log_index so far: a dense, append-only global order.
//  6. Each stored record that passed its checks is merged in this same transaction.
//  7. After a restore: a pull may move last_seq / last_hash forward over batches the device
//     declares lost, recorded in chain_gaps; a batch in such a gap is answered like a chain
//     mismatch and never stored.
//  Nothing in batches, records, equivocations, record_rejections or chain_gaps is updated
//  or deleted.
#pragma once

#include <functional>
#include <string>

#include "ingest/receipts.h"
#include "store/device_ledger.h"
#include "store/ledger_tx.h"

namespace vigil::syncd {

// Accepts pushed batches into a store. Thread-safe: every write runs on the store's writer.
class IngestService {
 public:
  // `ledger` must outlive the service.
  IngestService(DeviceLedger& ledger, ReceiptIssuer receipts)
      : ledger_(ledger), receipts_(std::move(receipts)) {}

  // Applies the sequence rules authoritatively and, when accepted, stores the batch, its
  // records and the signed receipt (notes 1-7). `done` runs after the commit, on the writer.
  void AppendBatch(VerifiedBatch batch, std::function<void(Result<AppendOutcome>)> done);

  // The body of AppendBatch, inside a write transaction.
  Status Append(LedgerTx& tx, const VerifiedBatch& batch, AppendOutcome& outcome) const;

 private:
  DeviceLedger& ledger_;
  const ReceiptIssuer receipts_;
};

// Releases a held record (docs/protocol.md §8.5 Q4): re-checks it against the current
// stations, assignments and forms (it may still fail: FailedPrecondition naming why), then
// merges it exactly once and logs the release in the audit log as done by `by`, in one
// transaction. NotFound for a record not in quarantine; FailedPrecondition when already
// released; InvalidArgument without `by` or `reason`.
Result<v1::QuarantinedRecord> ReleaseQuarantine(DeviceLedger& ledger, const std::string& record_id,
                                                const std::string& by, const std::string& reason);

}  // namespace vigil::syncd
