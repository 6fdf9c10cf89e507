// A device's chain across server restores: what the newest backup holds of it, resend
// requests and recorded gaps (docs/protocol.md §10.4, docs/operations.md §9). Internal to
// syncd/src/store; each function runs inside the caller's transaction.
//
// NOTES ON A CHAIN ACROSS A RESTORE
//
//  1. `syncd admin backup` records in backup_coverage, per device, the newest batch the
//     backup file holds. A pull answers backups_taken and that backed_up_seq; a device
//     purges no batch above it (above last_accepted_seq before the first backup).
//  2. A restore takes the store back to the backup: devices.last_seq may now be below what
//     a device holds receipts for. The device says so in its pull (acknowledged_seq); the
//     answer asks for batches from last_seq + 1 again (resend_from_seq) and a
//     RESEND_REQUESTED alert is raised (counted, not repeated, while the device is behind).
//  3. The device resends those batches unchanged; they are accepted as any new batch.
//  4. When the device purged some of them it says so (lost_through_seq, lost_through_hash,
//     both checked): batches last_seq + 1 .. lost_through_seq are recorded in chain_gaps,
//     a CHAIN_GAP alert is raised, and devices.last_seq / last_hash move to lost_through_seq
//     and its hash, so that the next batch chains on. A gap only starts at last_seq + 1 and
//     ends at most at acknowledged_seq: a device cannot skip batches nobody acknowledged.
//  5. A batch whose seq lies in a recorded gap is never stored afterwards (it would be a
//     second history of a seq the chain went past); it is answered like a chain mismatch.
#pragma once

#include <cstdint>
#include <string>

#include "store/sql.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::syncd {

// The device's chain head, as the pull changes it.
struct ChainHead {
  uint64_t last_seq = 0;
  std::string last_hash;
};

// Applies a pull's lost_through_seq (note 4; InvalidArgument for a nonsensical claim), then
// fills backups_taken, backed_up_seq and resend_from_seq (notes 1 and 2) in `response`.
// `head` is the device's chain head before the pull and after it on return.
Status ApplyPullChain(sql::Connection& db, const std::string& device_id, const v1::Pull& pull,
                      ChainHead& head, v1::PullResponse& response);

// Whether `seq` of the device lies in a recorded chain gap (note 5).
Result<bool> InChainGap(sql::Connection& db, const std::string& device_id, uint64_t seq);

}  // namespace vigil::syncd
