#include "sync/push.h"

#include <algorithm>
#include <optional>

#include "sync/holds.h"
#include "sync/wire.h"
#include "vigil/protocol/signing.h"
#include "vigil/sqlite/db.h"

namespace vigil::client::sync {
namespace {

// Records a receipt and acknowledges its batch and the batch's records (NOTES 2).
Status MarkAcknowledged(Client::State& state, uint64_t seq, const std::string& receipt_bytes) {
  sqlite::Transaction txn(*state.db);
  VIGIL_RETURN_IF_ERROR(txn.status());
  VIGIL_ASSIGN_OR_RETURN(auto put, state.db->Prepare("INSERT OR REPLACE INTO receipts(batch_seq, "
                                                     "receipt, received_at) VALUES (?, ?, ?)"));
  put.Bind(1, static_cast<int64_t>(seq)).BindBlob(2, receipt_bytes).Bind(3, NowMs());
  VIGIL_RETURN_IF_ERROR(put.Run());
  VIGIL_ASSIGN_OR_RETURN(auto batch,
                         state.db->Prepare("UPDATE batches SET state = 1 WHERE seq = ?"));
  batch.Bind(1, static_cast<int64_t>(seq));
  VIGIL_RETURN_IF_ERROR(batch.Run());
  VIGIL_ASSIGN_OR_RETURN(
      auto records,
      state.db->Prepare("UPDATE records SET state = 3 WHERE batch_seq = ? AND state = 2"));
  records.Bind(1, static_cast<int64_t>(seq));
  VIGIL_RETURN_IF_ERROR(records.Run());
  return txn.Commit();
}

void CountStatuses(const v1::PushResponse& response, SyncReport& report) {
  for (const v1::RecordStatus& s : response.statuses()) {
    if (s.outcome() == v1::RECORD_OK) {
      ++report.records_ok;
    } else if (s.outcome() == v1::RECORD_DUPLICATE) {
      ++report.records_duplicate;
    } else if (s.outcome() == v1::RECORD_QUARANTINED) {
      ++report.records_held;
      report.held.push_back("record " + s.record_id() + ": " + s.reason());
    } else {
      ++report.records_rejected;
      report.rejections.push_back("record " + s.record_id() + ": " + s.reason());
    }
  }
}

// One pass over `batches` in order (NOTES 1-3): nothing, or the earlier seq the server
// expects (4).
Result<std::optional<uint64_t>> PushInOrder(SyncContext& ctx,
                                            const std::vector<OutgoingBatch>& batches) {
  ctx.progress.batches_total += batches.size();
  for (const OutgoingBatch& b : batches) ctx.progress.records_total += b.record_count;
  ReportPhase(ctx, "push");
  for (const OutgoingBatch& b : batches) {
    v1::PushResponse response;
    VIGIL_ASSIGN_OR_RETURN(
        HttpResult result,
        wire::PostWithRetry(
            ctx.route, "/v1/push", b.wire, ctx.options,
            [&](const std::string& body) {
              return response.ParseFromString(body) && response.has_receipt();
            },
            ctx.report.retries, "push batch " + std::to_string(b.seq), &ctx.progress));
    ctx.report.bytes_sent += b.wire.size();
    if (result.status != 200) {
      v1::Error error;
      Status refusal = wire::Refusal(result, &error);
      bool behind = (error.code() == v1::SEQUENCE_GAP || error.code() == v1::CHAIN_MISMATCH) &&
                    error.expected_seq() >= 1 && error.expected_seq() < b.seq;
      if (behind) return std::optional<uint64_t>(error.expected_seq());
      return refusal.WithContext("batch " + std::to_string(b.seq));
    }
    VIGIL_RETURN_IF_ERROR(CheckReceipt(response.receipt(), ctx.receipt_key, ctx.server_id,
                                       ctx.state.device_id, b.seq, b.hash)
                              .WithContext("batch " + std::to_string(b.seq)));
    VIGIL_RETURN_IF_ERROR(
        MarkAcknowledged(ctx.state, b.seq, response.receipt().SerializeAsString()));
    VIGIL_RETURN_IF_ERROR(NoteHeldRecords(ctx.state, response.statuses()));
    ++ctx.report.batches_sent;
    CountStatuses(response, ctx.report);
    ++ctx.progress.batches_done;
    ctx.progress.records_done += b.record_count;
    ctx.progress.bytes_sent += b.wire.size();
    if (ctx.options.progress) ctx.options.progress(ctx.progress);
  }
  return std::optional<uint64_t>();
}

}  // namespace

Result<std::vector<OutgoingBatch>> LoadBatches(Client::State& state, uint64_t from_seq,
                                               bool pending_only, uint64_t to_seq) {
  VIGIL_ASSIGN_OR_RETURN(auto st, state.db->Prepare("SELECT seq, sealed, hash, record_count FROM "
                                                    "batches WHERE seq >= ? AND seq <= ? AND "
                                                    "(state = 0 OR ?) ORDER BY seq"));
  st.Bind(1, static_cast<int64_t>(from_seq));
  st.Bind(2, static_cast<int64_t>(std::min<uint64_t>(to_seq, INT64_MAX)));
  st.Bind(3, pending_only ? 0 : 1);
  std::vector<OutgoingBatch> out;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    OutgoingBatch b;
    b.seq = static_cast<uint64_t>(st.Int(0));
    std::string sealed = st.Blob(1);
    if (sealed.empty()) {
      return Status::FailedPrecondition("batch " + std::to_string(b.seq) +
                                        " was purged from this device and cannot be resent");
    }
    VIGIL_ASSIGN_OR_RETURN(b.wire, state.Open(sealed, BatchAad(b.seq)));
    b.hash = st.Blob(2);
    b.record_count = static_cast<uint32_t>(st.Int(3));
    out.push_back(std::move(b));
  }
  return out;
}

Status CheckReceipt(const v1::SignedReceipt& signed_receipt, const protocol::Ed25519PublicKey& key,
                    const std::string& server_id, const std::string& device_id, uint64_t seq,
                    const std::string& hash) {
  if (!key.Verify(protocol::SignatureInput(protocol::kReceiptLabel, server_id,
                                           signed_receipt.receipt_bytes()),
                  signed_receipt.signature())) {
    return Status::Unauthenticated("the receipt's signature does not verify with the server key");
  }
  v1::Receipt receipt;
  if (!receipt.ParseFromString(signed_receipt.receipt_bytes())) {
    return Status::Unauthenticated("the signed receipt does not parse");
  }
  if (receipt.server_id() != server_id || receipt.device_id() != device_id ||
      receipt.batch_seq() != seq || !protocol::ConstantTimeEquals(receipt.batch_hash(), hash)) {
    return Status::Unauthenticated("the receipt names another server, device, batch or content");
  }
  return Status::Ok();
}

Status MarkPendingAgain(Client::State& state, uint64_t from, uint64_t to) {
  sqlite::Transaction txn(*state.db);
  VIGIL_RETURN_IF_ERROR(txn.status());
  VIGIL_ASSIGN_OR_RETURN(auto batches, state.db->Prepare("UPDATE batches SET state = 0 WHERE "
                                                         "seq >= ? AND seq <= ? AND state = 1"));
  batches.Bind(1, static_cast<int64_t>(from)).Bind(2, static_cast<int64_t>(to));
  VIGIL_RETURN_IF_ERROR(batches.Run());
  VIGIL_ASSIGN_OR_RETURN(auto records,
                         state.db->Prepare("UPDATE records SET state = 2 WHERE batch_seq >= ? "
                                           "AND batch_seq <= ? AND state = 3"));
  records.Bind(1, static_cast<int64_t>(from)).Bind(2, static_cast<int64_t>(to));
  VIGIL_RETURN_IF_ERROR(records.Run());
  return txn.Commit();
}

Result<PushOutcome> PushBatches(SyncContext& ctx, const std::vector<OutgoingBatch>& batches) {
  VIGIL_ASSIGN_OR_RETURN(std::optional<uint64_t> expected, PushInOrder(ctx, batches));
  if (!expected) return PushOutcome::kDone;
  Result<std::vector<OutgoingBatch>> resend = LoadBatches(ctx.state, *expected, false);
  if (!resend.ok() && resend.status().code() == StatusCode::kFailedPrecondition) {
    return PushOutcome::kServerBehind;  // Purged: the pull's resend_from_seq settles it.
  }
  VIGIL_RETURN_IF_ERROR(resend.status());
  VIGIL_ASSIGN_OR_RETURN(std::optional<uint64_t> again, PushInOrder(ctx, *resend));
  if (again) {
    return Status::FailedPrecondition("syncd still expects batch " + std::to_string(*again) +
                                      " after this device resent from batch " +
                                      std::to_string(*expected));
  }
  return PushOutcome::kDone;
}

Result<PushOutcome> Push(Client& client, SyncContext& ctx) {
  ReportPhase(ctx, "seal");
  VIGIL_RETURN_IF_ERROR(client.SealOutbox().status());
  VIGIL_ASSIGN_OR_RETURN(std::vector<OutgoingBatch> batches, LoadBatches(ctx.state, 0, true));
  return PushBatches(ctx, batches);
}

}  // namespace vigil::client::sync
