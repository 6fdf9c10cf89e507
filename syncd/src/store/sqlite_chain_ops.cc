// Backups, resend requests and chain gaps in a pull (see sqlite_chain_ops.h).
#include "store/sqlite_chain_ops.h"

#include <algorithm>

#include "store/sql_store.h"
#include "store/sqlite_rows.h"
#include "vigil/protocol/crypto.h"

namespace vigil::syncd {
namespace {

// Sequence numbers are stored as SQLite integers: anything above stays out of reach.
constexpr uint64_t kMaxSeq = static_cast<uint64_t>(INT64_MAX);

Status RecordGap(sql::Connection& db, const std::string& device_id, const v1::Pull& pull,
                 ChainHead& head) {
  const uint64_t through = pull.lost_through_seq();
  if (through <= head.last_seq) {
    return Status::InvalidArgument("lost_through_seq " + std::to_string(through) +
                                   " is not beyond the server's last_accepted_seq " +
                                   std::to_string(head.last_seq));
  }
  if (through > pull.acknowledged_seq() || through > kMaxSeq) {
    return Status::InvalidArgument("lost_through_seq " + std::to_string(through) +
                                   " is beyond the pull's acknowledged_seq " +
                                   std::to_string(pull.acknowledged_seq()));
  }
  if (pull.lost_through_hash().size() != protocol::kSha256Size) {
    return Status::InvalidArgument("lost_through_hash must be 32 bytes, not " +
                                   std::to_string(pull.lost_through_hash().size()));
  }
  const int64_t now = NowMs();
  const uint64_t from = head.last_seq + 1;
  sql::Statement gap(db,
                     "INSERT INTO chain_gaps(device_id, from_seq, to_seq, hash, recorded_at_ms) "
                     "VALUES (?, ?, ?, ?, ?)");
  gap.BindText(1, device_id).Bind(2, static_cast<int64_t>(from));
  gap.Bind(3, static_cast<int64_t>(through)).BindBlob(4, pull.lost_through_hash()).Bind(5, now);
  VIGIL_RETURN_IF_ERROR(gap.Run());
  sql::Statement advance(db, "UPDATE devices SET last_seq = ?, last_hash = ? WHERE device_id = ?");
  advance.Bind(1, static_cast<int64_t>(through)).BindBlob(2, pull.lost_through_hash());
  advance.BindText(3, device_id);
  VIGIL_RETURN_IF_ERROR(advance.Run());
  head.last_seq = through;
  head.last_hash = pull.lost_through_hash();
  return RaiseAlert(
      db, "CHAIN_GAP", device_id,
      "batches " + std::to_string(from) + ".." + std::to_string(through) +
          " are lost: the server no longer has them (restored from a backup) and the device "
          "purged them; its later batches are accepted",
      NowMs());
}

Status FillBackupCoverage(sql::Connection& db, const std::string& device_id,
                          v1::PullResponse& response) {
  sql::Statement newest(db, "SELECT max(id) FROM backups");
  VIGIL_ASSIGN_OR_RETURN(bool row, newest.Step());
  if (!row || newest.IsNull(0)) return Status::Ok();
  response.set_backups_taken(true);
  sql::Statement covered(db,
                         "SELECT seq FROM backup_coverage WHERE device_id = ? AND backup_id = ?");
  covered.BindText(1, device_id).Bind(2, newest.Int(0));
  VIGIL_ASSIGN_OR_RETURN(bool found, covered.Step());
  if (found) response.set_backed_up_seq(static_cast<uint64_t>(covered.Int(0)));
  return Status::Ok();
}

}  // namespace

Status ApplyPullChain(sql::Connection& db, const std::string& device_id, const v1::Pull& pull,
                      ChainHead& head, v1::PullResponse& response) {
  if (pull.lost_through_seq() != 0) VIGIL_RETURN_IF_ERROR(RecordGap(db, device_id, pull, head));
  VIGIL_RETURN_IF_ERROR(FillBackupCoverage(db, device_id, response));
  if (pull.acknowledged_seq() > head.last_seq) {
    response.set_resend_from_seq(head.last_seq + 1);
    VIGIL_RETURN_IF_ERROR(RaiseAlert(
        db, "RESEND_REQUESTED", device_id,
        "the device holds receipts through batch " +
            std::to_string(std::min(pull.acknowledged_seq(), kMaxSeq)) +
            " but the server has its batches only through " + std::to_string(head.last_seq) +
            " (restored from a backup); asked to resend from " + std::to_string(head.last_seq + 1),
        NowMs()));
  }
  return Status::Ok();
}

Result<bool> InChainGap(sql::Connection& db, const std::string& device_id, uint64_t seq) {
  sql::Statement gap(db,
                     "SELECT 1 FROM chain_gaps WHERE device_id = ? AND from_seq <= ?2 AND "
                     "to_seq >= ?2");
  gap.BindText(1, device_id).Bind(2, static_cast<int64_t>(std::min(seq, kMaxSeq)));
  return gap.Step();
}

}  // namespace vigil::syncd
