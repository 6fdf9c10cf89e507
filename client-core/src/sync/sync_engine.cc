// Client::Sync and what it leaves behind: push with receipts, pull, inbox.
//
// Push invariants (see also the outbox state machine in outbox/batch_sealer.cc):
//  1. Batches go out in sequence order, each as the exact bytes stored when it was sealed.
//  2. A batch becomes acknowledged only with a receipt that verifies with the server's key
//     and names this device, its sequence number and the SHA-256 of its bytes; the receipt,
//     the batch state and its records' state change in one transaction.
//  3. A refusal that retrying cannot fix stops the sync and is reported by name; whatever
//     was acknowledged before it stays acknowledged.
//  4. When syncd expects an earlier sequence number than the one sent (it lost batches, e.g.
//     restored from a backup), the device resends from there once, using the stored bytes.
#include <algorithm>

#include "client_state.h"
#include "store/sqlite.h"
#include "sync/holds.h"
#include "sync/wire.h"
#include "vigil/protocol/signing.h"

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

Result<std::vector<OutgoingBatch>> LoadBatches(Client::State& state, uint64_t from_seq,
                                               bool pending_only) {
  VIGIL_ASSIGN_OR_RETURN(auto st,
                         state.db->Prepare(pending_only ? "SELECT seq, sealed, hash, record_count "
                                                          "FROM batches WHERE state = 0 AND seq >= "
                                                          "? ORDER BY seq"
                                                        : "SELECT seq, sealed, hash, record_count "
                                                          "FROM batches WHERE seq >= ? ORDER BY "
                                                          "seq"));
  st.Bind(1, static_cast<int64_t>(from_seq));
  std::vector<OutgoingBatch> out;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    OutgoingBatch b;
    b.seq = static_cast<uint64_t>(st.ColumnInt(0));
    std::string sealed = st.ColumnBlob(1);
    if (sealed.empty()) {
      return Status::FailedPrecondition("batch " + std::to_string(b.seq) +
                                        " was purged from this device and cannot be resent");
    }
    VIGIL_ASSIGN_OR_RETURN(b.wire, state.Open(sealed, BatchAad(b.seq)));
    b.hash = st.ColumnBlob(2);
    b.record_count = static_cast<uint32_t>(st.ColumnInt(3));
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
  VIGIL_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*state.db));
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
  return txn->Commit();
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

  SyncReport report;
  VIGIL_RETURN_IF_ERROR(SealOutbox().status());
  VIGIL_ASSIGN_OR_RETURN(std::vector<OutgoingBatch> batches, LoadBatches(*state_, 0, true));
  SyncProgress progress;
  progress.batches_total = batches.size();
  progress.phase = "push";
  if (options.progress) options.progress(progress);
  bool rewound = false;
  for (size_t i = 0; i < batches.size(); ++i) {
    const OutgoingBatch& b = batches[i];
    v1::PushResponse response;
    VIGIL_ASSIGN_OR_RETURN(HttpResult result,
                           wire::PostWithRetry(
                               *transport, "/v1/push", b.wire, options,
                               [&](const std::string& body) {
                                 return response.ParseFromString(body) && response.has_receipt();
                               },
                               report.retries, "push batch " + std::to_string(b.seq)));
    report.bytes_sent += b.wire.size();
    if (result.status != 200) {
      v1::Error error;
      Status refusal = wire::Refusal(result, &error);
      bool behind = (error.code() == v1::SEQUENCE_GAP || error.code() == v1::CHAIN_MISMATCH) &&
                    error.expected_seq() >= 1 && error.expected_seq() < b.seq;
      if (behind && !rewound) {
        rewound = true;
        VIGIL_ASSIGN_OR_RETURN(auto resend, LoadBatches(*state_, error.expected_seq(), false));
        batches = std::move(resend);
        progress.batches_total += batches.size();
        i = static_cast<size_t>(-1);
        continue;
      }
      return refusal.WithContext("batch " + std::to_string(b.seq));
    }
    VIGIL_RETURN_IF_ERROR(
        CheckReceipt(response.receipt(), receipt_key, server_id, state_->device_id, b.seq, b.hash)
            .WithContext("batch " + std::to_string(b.seq)));
    VIGIL_RETURN_IF_ERROR(MarkAcknowledged(*state_, b.seq, response.receipt().SerializeAsString()));
    VIGIL_RETURN_IF_ERROR(NoteHeldRecords(*state_, response.statuses()));
    ++report.batches_sent;
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
    ++progress.batches_done;
    progress.records_done += b.record_count;
    if (options.progress) options.progress(progress);
  }

  if (options.pull) {
    progress.phase = "pull";
    if (options.progress) options.progress(progress);
    VIGIL_ASSIGN_OR_RETURN(auto cursor_text, state_->GetMeta("pull_cursor"));
    VIGIL_ASSIGN_OR_RETURN(
        int64_t pending,
        state_->db->QueryInt("SELECT count(*) FROM records WHERE state IN (1, 2)"));
    // Every attempt is a new Pull with a new nonce (docs/protocol.md §10.1): an attempt whose
    // answer was lost may have reached syncd, which refuses its nonce from then on.
    auto make_pull = [&]() -> Result<std::string> {
      v1::Pull pull;
      pull.set_device_id(state_->device_id);
      pull.set_cursor(cursor_text ? std::stoull(*cursor_text) : 0);
      VIGIL_ASSIGN_OR_RETURN(std::string nonce, protocol::RandomBytes(16));
      pull.set_nonce(nonce);
      pull.set_device_time_ms(NowMs());
      pull.set_pending_records(static_cast<uint32_t>(pending));
      v1::SignedPull signed_pull;
      signed_pull.set_pull_bytes(pull.SerializeAsString());
      VIGIL_ASSIGN_OR_RETURN(std::string sig,
                             state_->device_key->Sign(protocol::SignatureInput(
                                 protocol::kPullLabel, server_id, signed_pull.pull_bytes())));
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
                                                  *transport, "/v1/pull", make_pull, options,
                                                  [&](const std::string& body) {
                                                    return response.ParseFromString(body);
                                                  },
                                                  replayed, report.retries, "pull"));
    if (result.status != 200) return wire::Refusal(result).WithContext("pull");
    VIGIL_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*state_->db));
    for (const v1::FormDefinition& form : response.forms()) {
      VIGIL_RETURN_IF_ERROR(
          state_->PutForm(form).WithContext("form " + form.form_id() + " from syncd"));
      ++report.forms_received;
    }
    if (response.has_assignment()) {
      VIGIL_RETURN_IF_ERROR(StoreAssignmentForSync(*state_, response.assignment()));
    }
    VIGIL_ASSIGN_OR_RETURN(auto inbox, state_->db->Prepare("INSERT OR IGNORE INTO inbox("
                                                           "broadcast_id, received_at, sealed) "
                                                           "VALUES (?, ?, ?)"));
    for (const v1::Broadcast& b : response.broadcasts()) {
      VIGIL_ASSIGN_OR_RETURN(std::string sealed,
                             state_->Seal(b.SerializeAsString(), "broadcast:" + b.broadcast_id()));
      inbox.Reset();
      inbox.Bind(1, b.broadcast_id()).Bind(2, NowMs()).BindBlob(3, sealed);
      VIGIL_RETURN_IF_ERROR(inbox.Run());
      ++report.broadcasts_received;
    }
    VIGIL_ASSIGN_OR_RETURN(
        auto status, state_->db->Prepare("INSERT OR REPLACE INTO incident_status(incident_id, "
                                         "case_id, status, changed_at) VALUES (?, ?, ?, ?)"));
    for (const v1::IncidentStatus& s : response.incident_statuses()) {
      status.Reset();
      status.Bind(1, s.incident_id())
          .Bind(2, s.case_id())
          .Bind(3, static_cast<int64_t>(s.status()))
          .Bind(4, s.changed_at_ms());
      VIGIL_RETURN_IF_ERROR(status.Run());
      ++report.incident_updates;
    }
    VIGIL_RETURN_IF_ERROR(ReplaceHeldRecords(*state_, response.held_records()));
    VIGIL_RETURN_IF_ERROR(state_->PutMeta("pull_cursor", std::to_string(response.next_cursor())));
    VIGIL_RETURN_IF_ERROR(state_->PutMeta("last_sync_ms", std::to_string(NowMs())));
    report.server_last_seq = response.last_accepted_seq();
    VIGIL_RETURN_IF_ERROR(txn->Commit());
  } else {
    VIGIL_RETURN_IF_ERROR(state_->PutMeta("last_sync_ms", std::to_string(NowMs())));
  }
  VIGIL_RETURN_IF_ERROR(PurgeAcknowledged(options.purge_after).status());
  return report;
}

Result<int64_t> Client::PurgeAcknowledged(std::chrono::milliseconds older_than) {
  int64_t cutoff = NowMs() - older_than.count();
  VIGIL_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*state_->db));
  VIGIL_ASSIGN_OR_RETURN(
      auto records, state_->db->Prepare("UPDATE records SET sealed = X'' WHERE state = 3 AND "
                                        "length(sealed) > 0 AND batch_seq IN (SELECT batch_seq "
                                        "FROM receipts WHERE received_at <= ?)"));
  records.Bind(1, cutoff);
  VIGIL_RETURN_IF_ERROR(records.Run());
  int64_t purged = sqlite3_changes(state_->db->handle());
  VIGIL_ASSIGN_OR_RETURN(auto batches,
                         state_->db->Prepare("UPDATE batches SET sealed = X'' WHERE state = 1 AND "
                                             "length(sealed) > 0 AND seq IN (SELECT batch_seq FROM "
                                             "receipts WHERE received_at <= ?)"));
  batches.Bind(1, cutoff);
  VIGIL_RETURN_IF_ERROR(batches.Run());
  VIGIL_RETURN_IF_ERROR(txn->Commit());
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
    auto seq = static_cast<uint64_t>(st.ColumnInt(0));
    v1::SignedReceipt receipt;
    Status s = receipt.ParseFromString(st.ColumnBlob(1))
                   ? CheckReceipt(receipt, key, server_id, state_->device_id, seq, st.ColumnBlob(2))
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
    VIGIL_ASSIGN_OR_RETURN(std::string plain,
                           state_->Open(st.ColumnBlob(1), "broadcast:" + st.ColumnText(0)));
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
    VIGIL_ASSIGN_OR_RETURN(std::string plain,
                           state_->Open(st.ColumnBlob(1), "station:" + st.ColumnText(0)));
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
    s.set_incident_id(st.ColumnText(0));
    s.set_case_id(st.ColumnText(1));
    s.set_status(static_cast<v1::CaseStatus>(st.ColumnInt(2)));
    s.set_changed_at_ms(st.ColumnInt(3));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace vigil::client
