// Client::Sync and what it leaves behind: push with receipts, pull, resend after a server
// restore, purge, inbox.
//
// NOTES ON PUSH, RESEND AND PURGE (see also the outbox state machine in
// outbox/batch_sealer.cc; the server's side is docs/protocol.md §10.4)
//
//  1. Batches go out in sequence order, each as the exact bytes stored when it was sealed.
//  2. A batch becomes acknowledged only with a receipt that verifies with the server's key
//     and names this device, its sequence number and the SHA-256 of its bytes; the receipt,
//     the batch state and its records' state change in one transaction (MarkAcknowledged).
//  3. A refusal that retrying cannot fix stops the sync and is reported by name; whatever
//     was acknowledged before it stays acknowledged.
//  4. When syncd expects an earlier sequence number than the one sent (SEQUENCE_GAP or
//     CHAIN_MISMATCH naming an earlier expected_seq), the device resends from there once,
//     using the stored bytes (PushPhase). If one of those batches was purged it cannot, and
//     the pull that follows settles it (6).
//  5. Every pull says acknowledged_seq, the highest seq this device holds a receipt for, and
//     the answer's last_accepted_seq, backups_taken and backed_up_seq are kept in meta
//     (server_last_seq, backups_taken, backed_up_seq) in the transaction that applies it.
//  6. An answer with resend_from_seq (the server was restored and lost batches this device
//     holds receipts for) starts ResendPhase, within the same Sync: from that seq on, each
//     run of batches still held is marked pending again (records back to batched, old
//     receipts kept until new ones replace them) and pushed unchanged, same bytes and
//     signatures; each run of purged batches is declared lost with a pull carrying
//     lost_through_seq (the run's last seq) and lost_through_hash (its stored hash), so that
//     the server records the gap and the next held batch chains on. Record ids are
//     idempotent on the server, so nothing is doubled.
//  7. PurgeAcknowledged erases a batch's bytes and its records' content only when its receipt
//     is older than the purge wait AND its seq is at most backed_up_seq (once backups_taken)
//     or at most server_last_seq (before any backup): never a batch the server has not
//     confirmed it holds, and once backups run, only what a completed backup holds. Without
//     any pull answer yet, nothing is purged.
#include <algorithm>
#include <charconv>
#include <optional>

#include "client_state.h"
#include "sync/holds.h"
#include "sync/wire.h"
#include "vigil/protocol/signing.h"
#include "vigil/sqlite/db.h"

namespace vigil::client {

Status StoreAssignmentForSync(Client::State& state, const v1::Assignment& assignment);

namespace {

// A stored batch with what is needed to send and check it.
struct OutgoingBatch {
  uint64_t seq = 0;
  std::string wire;  // serialized SignedBatch
  std::string hash;  // SHA-256 of batch_bytes
  uint32_t record_count = 0;
};

// What one Sync shares between its phases.
struct SyncContext {
  Client::State& state;
  const SyncOptions& options;
  std::shared_ptr<Transport> transport;
  protocol::Ed25519PublicKey receipt_key;
  std::string server_id;
  SyncReport report;
  SyncProgress progress;
};

// A meta value written by this file as decimal text; 0 when unset.
Result<uint64_t> MetaUint(Client::State& state, std::string_view key) {
  VIGIL_ASSIGN_OR_RETURN(auto text, state.GetMeta(key));
  if (!text) return uint64_t{0};
  const std::string& digits = *text;
  const char* first = digits.data();
  const char* last = first + digits.size();
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last) {
    return Status::DataLoss("meta " + std::string(key) + " is not a number: " + *text);
  }
  return value;
}

// Batches from_seq..to_seq (every one, or only those pending), in order. Fails for a batch
// whose bytes were purged.
Result<std::vector<OutgoingBatch>> LoadBatches(Client::State& state, uint64_t from_seq,
                                               bool pending_only, uint64_t to_seq = INT64_MAX) {
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

// Checks a receipt against the batch it acknowledges.
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

// Marks acknowledged batches from..to (and their records) pending again, for a resend (6).
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

// What pushing a list of batches came to.
enum class PushOutcome { kDone, kServerBehind };

// One pass over `batches` in order (1-3): kDone, or the earlier seq the server expects (4).
Result<std::optional<uint64_t>> PushInOrder(SyncContext& ctx,
                                            const std::vector<OutgoingBatch>& batches) {
  ctx.progress.batches_total += batches.size();
  ctx.progress.phase = "push";
  if (ctx.options.progress) ctx.options.progress(ctx.progress);
  for (const OutgoingBatch& b : batches) {
    v1::PushResponse response;
    VIGIL_ASSIGN_OR_RETURN(HttpResult result,
                           wire::PostWithRetry(
                               *ctx.transport, "/v1/push", b.wire, ctx.options,
                               [&](const std::string& body) {
                                 return response.ParseFromString(body) && response.has_receipt();
                               },
                               ctx.report.retries, "push batch " + std::to_string(b.seq)));
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
    if (ctx.options.progress) ctx.options.progress(ctx.progress);
  }
  return std::optional<uint64_t>();
}

// Pushes `batches` in order (1-3). When the server expects an earlier seq it resends from
// there once (4); kServerBehind when it cannot because a batch there was purged.
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

// A chain run declared lost in a pull (6).
struct LostRun {
  uint64_t through_seq = 0;
  std::string through_hash;
};

// Sends one pull (a new nonce on every attempt, docs/protocol.md §10.1) and returns the answer.
Result<v1::PullResponse> SendPull(SyncContext& ctx, const LostRun* lost) {
  VIGIL_ASSIGN_OR_RETURN(uint64_t cursor, MetaUint(ctx.state, "pull_cursor"));
  VIGIL_ASSIGN_OR_RETURN(
      int64_t pending,
      ctx.state.db->QueryInt("SELECT count(*) FROM records WHERE state IN (1, 2)"));
  VIGIL_ASSIGN_OR_RETURN(
      int64_t acknowledged,
      ctx.state.db->QueryInt("SELECT coalesce(max(batch_seq), 0) FROM receipts"));
  auto make_pull = [&]() -> Result<std::string> {
    v1::Pull pull;
    pull.set_device_id(ctx.state.device_id);
    pull.set_cursor(cursor);
    VIGIL_ASSIGN_OR_RETURN(std::string nonce, protocol::RandomBytes(16));
    pull.set_nonce(nonce);
    pull.set_device_time_ms(NowMs());
    pull.set_pending_records(static_cast<uint32_t>(pending));
    pull.set_acknowledged_seq(static_cast<uint64_t>(acknowledged));
    if (lost != nullptr) {
      pull.set_lost_through_seq(lost->through_seq);
      pull.set_lost_through_hash(lost->through_hash);
    }
    v1::SignedPull signed_pull;
    signed_pull.set_pull_bytes(pull.SerializeAsString());
    VIGIL_ASSIGN_OR_RETURN(std::string sig,
                           ctx.state.device_key->Sign(protocol::SignatureInput(
                               protocol::kPullLabel, ctx.server_id, signed_pull.pull_bytes())));
    signed_pull.set_signature(sig);
    return signed_pull.SerializeAsString();
  };
  // REPLAYED_PULL: syncd already saw this attempt's nonce, so the HTTP layer sent it twice
  // (libcurl resends a request by itself when a kept-alive connection dies before any
  // answer). Another attempt, with a new nonce, is what §12 asks for.
  auto replayed = [](const HttpResult& r) {
    v1::Error error;
    return r.status == 409 && error.ParseFromString(r.body) && error.code() == v1::REPLAYED_PULL;
  };
  v1::PullResponse response;
  VIGIL_ASSIGN_OR_RETURN(HttpResult result, wire::PostWithRetry(
                                                *ctx.transport, "/v1/pull", make_pull, ctx.options,
                                                [&](const std::string& body) {
                                                  return response.ParseFromString(body);
                                                },
                                                replayed, ctx.report.retries, "pull"));
  if (result.status != 200) return wire::Refusal(result).WithContext("pull");
  return response;
}

// Stores what a pull brought (forms, assignment, broadcasts, incident statuses, the server's
// view of the chain and its backups) in one transaction.
Status ApplyPull(SyncContext& ctx, const v1::PullResponse& response) {
  Client::State& state = ctx.state;
  sqlite::Transaction txn(*state.db);
  VIGIL_RETURN_IF_ERROR(txn.status());
  for (const v1::FormDefinition& form : response.forms()) {
    VIGIL_RETURN_IF_ERROR(
        state.PutForm(form).WithContext("form " + form.form_id() + " from syncd"));
    ++ctx.report.forms_received;
  }
  if (response.has_assignment()) {
    VIGIL_RETURN_IF_ERROR(StoreAssignmentForSync(state, response.assignment()));
  }
  VIGIL_ASSIGN_OR_RETURN(auto inbox, state.db->Prepare("INSERT OR IGNORE INTO inbox("
                                                       "broadcast_id, received_at, sealed) "
                                                       "VALUES (?, ?, ?)"));
  for (const v1::Broadcast& b : response.broadcasts()) {
    VIGIL_ASSIGN_OR_RETURN(std::string sealed,
                           state.Seal(b.SerializeAsString(), "broadcast:" + b.broadcast_id()));
    inbox.Reset();
    inbox.BindText(1, b.broadcast_id()).Bind(2, NowMs()).BindBlob(3, sealed);
    VIGIL_RETURN_IF_ERROR(inbox.Run());
    ++ctx.report.broadcasts_received;
  }
  VIGIL_ASSIGN_OR_RETURN(auto status,
                         state.db->Prepare("INSERT OR REPLACE INTO incident_status(incident_id, "
                                           "case_id, status, changed_at) VALUES (?, ?, ?, ?)"));
  for (const v1::IncidentStatus& s : response.incident_statuses()) {
    status.Reset();
    status.BindText(1, s.incident_id())
        .BindText(2, s.case_id())
        .Bind(3, static_cast<int64_t>(s.status()))
        .Bind(4, s.changed_at_ms());
    VIGIL_RETURN_IF_ERROR(status.Run());
    ++ctx.report.incident_updates;
  }
  VIGIL_RETURN_IF_ERROR(ReplaceHeldRecords(state, response.held_records()));
  VIGIL_RETURN_IF_ERROR(state.PutMeta("pull_cursor", std::to_string(response.next_cursor())));
  VIGIL_RETURN_IF_ERROR(
      state.PutMeta("server_last_seq", std::to_string(response.last_accepted_seq())));
  VIGIL_RETURN_IF_ERROR(state.PutMeta("backups_taken", response.backups_taken() ? "1" : "0"));
  VIGIL_RETURN_IF_ERROR(state.PutMeta("backed_up_seq", std::to_string(response.backed_up_seq())));
  VIGIL_RETURN_IF_ERROR(state.PutMeta("last_sync_ms", std::to_string(NowMs())));
  ctx.report.server_last_seq = response.last_accepted_seq();
  ctx.report.backed_up_seq = response.backups_taken() ? response.backed_up_seq() : 0;
  return txn.Commit();
}

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

// The server asked for batches from `from_seq` on again (6): held runs are pushed unchanged,
// purged runs declared lost; then every batch still pending is pushed.
Status ResendPhase(SyncContext& ctx, uint64_t from_seq) {
  VIGIL_ASSIGN_OR_RETURN(std::vector<BatchRun> runs, LoadRuns(ctx.state, from_seq));
  for (const BatchRun& run : runs) {
    if (run.purged) {
      LostRun lost{run.to, run.last_hash};
      VIGIL_ASSIGN_OR_RETURN(v1::PullResponse response, SendPull(ctx, &lost));
      VIGIL_RETURN_IF_ERROR(ApplyPull(ctx, response));
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

}  // namespace

Result<SyncReport> Client::Sync(const SyncOptions& options) {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  VIGIL_ASSIGN_OR_RETURN(auto url, state_->GetMeta("server_url"));
  VIGIL_ASSIGN_OR_RETURN(auto pin, state_->GetMeta("tls_pin"));
  VIGIL_ASSIGN_OR_RETURN(auto receipt_raw, state_->GetMeta("receipt_public_key"));
  if (!url || !pin || !receipt_raw) {
    return Status::FailedPrecondition("this device is not enrolled: run `observer enroll` first");
  }
  VIGIL_ASSIGN_OR_RETURN(auto receipt_key, protocol::Ed25519PublicKey::FromRaw(*receipt_raw));
  VIGIL_ASSIGN_OR_RETURN(std::string server_id, ServerId());
  std::shared_ptr<Transport> transport = options.transport;
  if (!transport) {
    TransportOptions t;
    t.base_url = *url;
    t.tls_pin = *pin;
    t.ca_file = options.ca_file;
    VIGIL_ASSIGN_OR_RETURN(auto curl, MakeCurlTransport(t));
    transport = std::move(curl);
  }
  SyncContext ctx{
      *state_, options, std::move(transport), std::move(receipt_key), std::move(server_id), {}, {}};

  VIGIL_RETURN_IF_ERROR(SealOutbox().status());
  VIGIL_ASSIGN_OR_RETURN(std::vector<OutgoingBatch> batches, LoadBatches(*state_, 0, true));
  VIGIL_ASSIGN_OR_RETURN(PushOutcome pushed, PushBatches(ctx, batches));
  // A server that is behind is asked where to resend from even without `pull`.
  if (options.pull || pushed == PushOutcome::kServerBehind) {
    ctx.progress.phase = "pull";
    if (options.progress) options.progress(ctx.progress);
    VIGIL_ASSIGN_OR_RETURN(v1::PullResponse response, SendPull(ctx, nullptr));
    VIGIL_RETURN_IF_ERROR(ApplyPull(ctx, response));
    if (response.resend_from_seq() != 0) {
      VIGIL_RETURN_IF_ERROR(ResendPhase(ctx, response.resend_from_seq()));
    }
  } else {
    VIGIL_RETURN_IF_ERROR(state_->PutMeta("last_sync_ms", std::to_string(NowMs())));
  }
  VIGIL_RETURN_IF_ERROR(PurgeAcknowledged(options.purge_after).status());
  return std::move(ctx.report);
}

Result<int64_t> Client::PurgeAcknowledged(std::chrono::milliseconds older_than) {
  const int64_t cutoff = NowMs() - older_than.count();
  VIGIL_ASSIGN_OR_RETURN(uint64_t backups_taken, MetaUint(*state_, "backups_taken"));
  VIGIL_ASSIGN_OR_RETURN(
      uint64_t limit, MetaUint(*state_, backups_taken != 0 ? "backed_up_seq" : "server_last_seq"));
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
                   ? CheckReceipt(receipt, key, server_id, state_->device_id, seq, st.Blob(2))
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
