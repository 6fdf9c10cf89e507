// Client: sealing the outbox into signed, hash-chained batches.
//
// NOTES ON THE DESIGN OF THE OUTBOX
//
// A record moves through four states (records.state), never backwards:
//
//     kDraft --Finalize()--> kOutbox --SealOutbox()--> kBatched --receipt--> kAcknowledged
//       |                 (incidents enter here)
//       +--DiscardDraft()--> (deleted; only drafts can be deleted)
//
// Invariants:
//  1. Batch sequence numbers are 1, 2, 3 … with no gap: a new batch takes max(seq)+1
//     inside the same transaction that inserts it.
//  2. batch[n].prev_batch_hash == SHA-256(batch[n-1] bytes); batch 1 has 32 zero bytes.
//     The hash stored beside each batch is of the exact bytes that were signed.
//  3. A batch's bytes are serialized once, here, signed, encrypted and stored in the same
//     transaction that moves its records to kBatched. They are never re-serialized: a retry
//     sends the stored bytes (protobuf encoding is not canonical).
//  4. Every kBatched/kAcknowledged record names the batch that holds it; every record is in
//     at most one batch (records leave kOutbox only here).
//  5. Records are batched in finalization order (outbox_order).
// A crash at any point leaves either the whole transaction or none of it.
#include <algorithm>

#include "client_state.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/protocol/signing.h"

namespace vigil::client {
namespace {

// Keep one batch's uncompressed payload well below the protocol's 8 MiB cap.
constexpr size_t kTargetPayloadBytes = 1u << 20;

}  // namespace

Result<int> Client::SealOutbox() {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  if (!state_->device_key) return Status::FailedPrecondition("the device key is not loaded");
  VIGIL_ASSIGN_OR_RETURN(auto server_id, state_->GetMeta("server_id"));
  if (!server_id || server_id->empty()) {
    return Status::FailedPrecondition(
        "no server id yet: enroll the device (or init with --server-id) before batches can be "
        "signed");
  }
  VIGIL_ASSIGN_OR_RETURN(auto limit_text, state_->GetMeta("max_records_per_batch"));
  size_t max_records = limit_text ? std::stoul(*limit_text) : 200;
  max_records = std::clamp<size_t>(max_records, 1, protocol::kMaxRecordsPerBatch);

  sqlite::Transaction txn(*state_->db);

  VIGIL_RETURN_IF_ERROR(txn.status());
  uint64_t last_seq = 0;
  std::string last_hash = protocol::GenesisHash();
  {
    VIGIL_ASSIGN_OR_RETURN(
        auto st, state_->db->Prepare("SELECT seq, hash FROM batches ORDER BY seq DESC LIMIT 1"));
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      last_seq = static_cast<uint64_t>(st.Int(0));
      last_hash = st.Blob(1);
    }
  }
  VIGIL_ASSIGN_OR_RETURN(
      auto select,
      state_->db->Prepare("SELECT record_id, sealed, outbox_order FROM records WHERE state = 1 "
                          "ORDER BY outbox_order"));
  VIGIL_ASSIGN_OR_RETURN(
      auto insert, state_->db->Prepare("INSERT INTO batches(seq, hash, prev_hash, record_count, "
                                       "created_at, state, sealed) VALUES (?, ?, ?, ?, ?, 0, ?)"));
  // A batch's records are the kOutbox rows of one contiguous outbox_order range: the select
  // walks kOutbox rows in that order inside this write transaction.
  VIGIL_ASSIGN_OR_RETURN(auto mark,
                         state_->db->Prepare("UPDATE records SET state = 2, batch_seq = ? "
                                             "WHERE state = 1 AND outbox_order BETWEEN ? AND ?"));
  int made = 0;
  bool more = true;
  VIGIL_ASSIGN_OR_RETURN(more, select.Step());
  while (more) {
    std::vector<std::string> serialized;
    std::vector<std::string> ids;
    int64_t first_order = select.Int(2);
    int64_t last_order = first_order;
    size_t bytes = 0;
    while (more && ids.size() < max_records && bytes < kTargetPayloadBytes) {
      std::string id = select.Text(0);
      // Authenticated by AES-GCM and serialized by Finalize: framed as it is, not re-parsed.
      VIGIL_ASSIGN_OR_RETURN(std::string plain, state_->Open(select.Blob(1), RecordAad(id)));
      bytes += plain.size();
      serialized.push_back(std::move(plain));
      ids.push_back(std::move(id));
      last_order = select.Int(2);
      VIGIL_ASSIGN_OR_RETURN(more, select.Step());
    }
    v1::Batch batch;
    batch.set_device_id(state_->device_id);
    batch.set_batch_seq(last_seq + 1);
    batch.set_prev_batch_hash(last_hash);
    batch.set_device_time_ms(NowMs());
    Status encoded = protocol::EncodePayloadFromSerialized(serialized, batch);
    for (std::string& plain : serialized) protocol::SecureWipe(plain);
    VIGIL_RETURN_IF_ERROR(encoded);
    v1::SignedBatch signed_batch;
    if (!batch.SerializeToString(signed_batch.mutable_batch_bytes())) {
      return Status::Internal("cannot serialize a batch");
    }
    VIGIL_ASSIGN_OR_RETURN(std::string signature,
                           state_->device_key->Sign(protocol::SignatureInput(
                               protocol::kBatchLabel, *server_id, signed_batch.batch_bytes())));
    signed_batch.set_signature(std::move(signature));
    std::string hash = protocol::Sha256(signed_batch.batch_bytes());
    std::string wire = signed_batch.SerializeAsString();
    VIGIL_ASSIGN_OR_RETURN(std::string sealed, state_->Seal(wire, BatchAad(last_seq + 1)));

    insert.Reset();
    insert.Bind(1, static_cast<int64_t>(last_seq + 1))
        .BindBlob(2, hash)
        .BindBlob(3, last_hash)
        .Bind(4, static_cast<int64_t>(ids.size()))
        .Bind(5, batch.device_time_ms())
        .BindBlob(6, sealed);
    VIGIL_RETURN_IF_ERROR(insert.Run());
    mark.Reset();
    mark.Bind(1, static_cast<int64_t>(last_seq + 1)).Bind(2, first_order).Bind(3, last_order);
    VIGIL_RETURN_IF_ERROR(mark.Run());
    if (static_cast<size_t>(state_->db->Changes()) != ids.size()) {
      return Status::Internal("outbox changed while sealing batch " + std::to_string(last_seq + 1));
    }
    last_seq += 1;
    last_hash = std::move(hash);
    ++made;
  }
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return made;
}

Result<std::vector<PendingBatch>> Client::PendingBatches() {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  VIGIL_ASSIGN_OR_RETURN(auto st,
                         state_->db->Prepare("SELECT seq, sealed, record_count FROM batches "
                                             "WHERE state = 0 ORDER BY seq"));
  std::vector<PendingBatch> out;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    PendingBatch b;
    b.seq = static_cast<uint64_t>(st.Int(0));
    VIGIL_ASSIGN_OR_RETURN(b.signed_batch, state_->Open(st.Blob(1), BatchAad(b.seq)));
    b.record_count = static_cast<uint32_t>(st.Int(2));
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace vigil::client
