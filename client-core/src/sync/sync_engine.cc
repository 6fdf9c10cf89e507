// Client::Sync: push, then pull and apply (NOTES in sync/sync_context.h), then purge; and what
// a sync leaves behind: receipts, inbox, stations, incident statuses.
#include <algorithm>

#include "client_state.h"
#include "sync/apply.h"
#include "sync/pull.h"
#include "sync/push.h"
#include "sync/sync_context.h"
#include "vigil/sqlite/db.h"

namespace vigil::client {
namespace sync {
namespace {

// A run of consecutive batches that are all purged, or all still held.
struct BatchRun {
  uint64_t from = 0;
  uint64_t to = 0;
  bool purged = false;
  std::string last_hash;
};

// The runs of batches from `from_seq` on, in order.
Result<std::vector<BatchRun>> LoadRuns(Client::State& state, uint64_t from_seq) {
  VIGIL_ASSIGN_OR_RETURN(auto st, state.db->Prepare("SELECT seq, length(sealed) = 0, hash FROM "
                                                    "batches WHERE seq >= ? ORDER BY seq"));
  st.Bind(1, static_cast<int64_t>(from_seq));
  std::vector<BatchRun> runs;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    const auto seq = static_cast<uint64_t>(st.Int(0));
    const bool purged = st.Int(1) != 0;
    if (runs.empty() || runs.back().purged != purged || runs.back().to + 1 != seq) {
      runs.push_back(BatchRun{seq, seq, purged, {}});
    }
    runs.back().to = seq;
    runs.back().last_hash = st.Blob(2);
  }
  return runs;
}

// The server asked for batches from `from_seq` on again (NOTES 6): held runs are pushed
// unchanged, purged runs declared lost; then every batch still pending is pushed.
Status Resend(SyncContext& ctx, uint64_t from_seq) {
  VIGIL_ASSIGN_OR_RETURN(std::vector<BatchRun> runs, LoadRuns(ctx.state, from_seq));
  for (const BatchRun& run : runs) {
    if (run.purged) {
      LostRun lost{run.to, run.last_hash};
      VIGIL_ASSIGN_OR_RETURN(v1::PullResponse response, Pull(ctx, &lost));
      VIGIL_RETURN_IF_ERROR(Apply(ctx, response));
      if (response.last_accepted_seq() != run.to) {
        return Status::FailedPrecondition("the server did not take the lost batches " +
                                          std::to_string(run.from) + ".." + std::to_string(run.to) +
                                          " (it holds through " +
                                          std::to_string(response.last_accepted_seq()) + ")");
      }
      ctx.report.lost_batches.push_back(std::to_string(run.from) + ".." + std::to_string(run.to));
      continue;
    }
    VIGIL_RETURN_IF_ERROR(MarkPendingAgain(ctx.state, run.from, run.to));
    VIGIL_ASSIGN_OR_RETURN(auto batches, LoadBatches(ctx.state, run.from, true, run.to));
    const size_t count = batches.size();
    VIGIL_ASSIGN_OR_RETURN(PushOutcome pushed, PushBatches(ctx, batches));
    if (pushed != PushOutcome::kDone) {
      return Status::FailedPrecondition("the server refused the resent batches from " +
                                        std::to_string(run.from));
    }
    ctx.report.batches_resent += count;
    ctx.report.server_last_seq = std::max(ctx.report.server_last_seq, run.to);
  }
  return Status::Ok();
}

// Push, then pull and apply (and resend) as the options say.
Status PushAndPull(Client& client, SyncContext& ctx) {
  VIGIL_ASSIGN_OR_RETURN(PushOutcome pushed, Push(client, ctx));
  // A server that is behind is asked where to resend from even without `pull`.
  if (ctx.options.pull || pushed == PushOutcome::kServerBehind) {
    ReportPhase(ctx, "pull");
    VIGIL_ASSIGN_OR_RETURN(v1::PullResponse response, Pull(ctx, nullptr));
    ReportPhase(ctx, "apply");
    VIGIL_RETURN_IF_ERROR(Apply(ctx, response));
    if (response.resend_from_seq() != 0) {
      VIGIL_RETURN_IF_ERROR(Resend(ctx, response.resend_from_seq()));
    }
    return Status::Ok();
  }
  return ctx.state.PutMeta("last_sync_ms", std::to_string(NowMs()));
}

}  // namespace
}  // namespace sync

Result<SyncReport> Client::Sync(const SyncOptions& options) {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  VIGIL_ASSIGN_OR_RETURN(sync::SyncContext ctx, sync::StartSync(*state_, options));
  Status synced = sync::PushAndPull(*this, ctx);
  // The server that answered last is tried first next time, whatever failed after it.
  ctx.report.server_url = ctx.route.answered();
  Status remembered = sync::RememberServer(*state_, ctx.route.answered());
  VIGIL_RETURN_IF_ERROR(synced);
  VIGIL_RETURN_IF_ERROR(remembered);
  sync::ReportPhase(ctx, "purge");
  VIGIL_RETURN_IF_ERROR(PurgeAcknowledged(options.purge_after).status());
  sync::ReportPhase(ctx, "done");
  return std::move(ctx.report);
}

Result<int64_t> Client::PurgeAcknowledged(std::chrono::milliseconds older_than) {
  const int64_t cutoff = NowMs() - older_than.count();
  VIGIL_ASSIGN_OR_RETURN(uint64_t backups_taken, sync::MetaUint(*state_, "backups_taken"));
  VIGIL_ASSIGN_OR_RETURN(
      uint64_t limit,
      sync::MetaUint(*state_, backups_taken != 0 ? "backed_up_seq" : "server_last_seq"));
  const auto max_seq = static_cast<int64_t>(std::min<uint64_t>(limit, INT64_MAX));
  sqlite::Transaction txn(*state_->db);
  VIGIL_RETURN_IF_ERROR(txn.status());
  VIGIL_ASSIGN_OR_RETURN(
      auto records,
      state_->db->Prepare("UPDATE records SET sealed = X'' WHERE state = 3 AND "
                          "length(sealed) > 0 AND batch_seq <= ?2 AND batch_seq IN (SELECT "
                          "batch_seq FROM receipts WHERE received_at <= ?1)"));
  records.Bind(1, cutoff).Bind(2, max_seq);
  VIGIL_RETURN_IF_ERROR(records.Run());
  int64_t purged = state_->db->Changes();
  VIGIL_ASSIGN_OR_RETURN(
      auto batches,
      state_->db->Prepare("UPDATE batches SET sealed = X'' WHERE state = 1 AND "
                          "length(sealed) > 0 AND seq <= ?2 AND seq IN (SELECT batch_seq FROM "
                          "receipts WHERE received_at <= ?1)"));
  batches.Bind(1, cutoff).Bind(2, max_seq);
  VIGIL_RETURN_IF_ERROR(batches.Run());
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return purged;
}

Result<ReceiptCheck> Client::VerifyReceipts() {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  VIGIL_ASSIGN_OR_RETURN(auto receipt_raw, state_->GetMeta("receipt_public_key"));
  if (!receipt_raw) return Status::FailedPrecondition("not enrolled: no server receipt key");
  VIGIL_ASSIGN_OR_RETURN(auto key, protocol::Ed25519PublicKey::FromRaw(*receipt_raw));
  VIGIL_ASSIGN_OR_RETURN(std::string server_id, ServerId());
  VIGIL_ASSIGN_OR_RETURN(
      auto st, state_->db->Prepare("SELECT r.batch_seq, r.receipt, b.hash FROM receipts r "
                                   "JOIN batches b ON b.seq = r.batch_seq ORDER BY r.batch_seq"));
  ReceiptCheck check;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    auto seq = static_cast<uint64_t>(st.Int(0));
    v1::SignedReceipt receipt;
    Status s = receipt.ParseFromString(st.Blob(1))
                   ? sync::CheckReceipt(receipt, key, server_id, state_->device_id, seq, st.Blob(2))
                   : Status::DataLoss("stored receipt does not parse");
    if (s.ok()) {
      ++check.verified;
    } else {
      check.failures.push_back("batch " + std::to_string(seq) + ": " + s.message());
    }
  }
  return check;
}

Result<std::vector<v1::Broadcast>> Client::Inbox() {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  VIGIL_ASSIGN_OR_RETURN(auto st, state_->db->Prepare("SELECT broadcast_id, sealed FROM inbox"));
  std::vector<v1::Broadcast> out;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    VIGIL_ASSIGN_OR_RETURN(std::string plain, state_->Open(st.Blob(1), "broadcast:" + st.Text(0)));
    v1::Broadcast b;
    if (!b.ParseFromString(plain)) return Status::DataLoss("a stored broadcast does not parse");
    out.push_back(std::move(b));
  }
  std::sort(out.begin(), out.end(), [](const v1::Broadcast& a, const v1::Broadcast& b) {
    return a.sent_at_ms() > b.sent_at_ms();
  });
  return out;
}

Result<std::vector<v1::Station>> Client::Stations() {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  VIGIL_ASSIGN_OR_RETURN(auto st,
                         state_->db->Prepare("SELECT code, sealed FROM stations ORDER BY code"));
  std::vector<v1::Station> out;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    VIGIL_ASSIGN_OR_RETURN(std::string plain, state_->Open(st.Blob(1), "station:" + st.Text(0)));
    v1::Station s;
    if (!s.ParseFromString(plain)) return Status::DataLoss("a stored station does not parse");
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<v1::IncidentStatus>> Client::IncidentStatuses() {
  VIGIL_ASSIGN_OR_RETURN(auto st,
                         state_->db->Prepare("SELECT incident_id, case_id, status, changed_at FROM "
                                             "incident_status ORDER BY changed_at DESC"));
  std::vector<v1::IncidentStatus> out;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    v1::IncidentStatus s;
    s.set_incident_id(st.Text(0));
    s.set_case_id(st.Text(1));
    s.set_status(static_cast<v1::CaseStatus>(st.Int(2)));
    s.set_changed_at_ms(st.Int(3));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace vigil::client
