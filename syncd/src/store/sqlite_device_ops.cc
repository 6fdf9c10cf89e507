// The writer-side halves of push, enroll and pull. Each runs inside the writer's group
// transaction (in its own savepoint), so what it reads is the authoritative state.
//
// NOTES ON A DEVICE'S CHAIN OF BATCHES (AppendInTransaction)
//
//  1. devices.last_seq / last_hash are the seq and SHA-256 of the newest batch stored for the
//     device (or of the last batch of a recorded chain gap, note 7); batches holds every
//     accepted batch, keyed (device_id, seq), seq 1..last_seq with no gap but those recorded
//     in chain_gaps, each batch's prev_batch_hash equal to the hash of the one before.
//  2. The I/O thread's checks (size, decode, device, rate, signature) ran on a snapshot; the
//     sequence verdict is taken again here, under the write lock, where no other push of the
//     same device can interleave. protocol::CheckSequence decides:
//       kAccept        -> store the batch, its records and receipt; advance last_seq/last_hash
//       kReplay        -> answer the stored PushResponse byte for byte; write nothing
//       kEquivocation  -> keep the other batch in equivocations (once per distinct hash)
//       kGap / kChainMismatch -> write nothing; expected_seq = last_seq + 1
//  3. An accepted batch whose payload does not decode is refused (400) and not stored.
//  4. Records are idempotent by id: records.record_id is the primary key; a record already
//     stored is a duplicate (same content hash) or rejected (other content); rejected records
//     are logged in record_rejections and still acknowledged as part of the batch.
//  5. log_index is 1 + the largest log_index so far: a dense, append-only global order.
//  6. Each stored record that passed its checks is merged in this same transaction
//     (sqlite_merge_ops.cc): a submission at once, incidents per station after the batch's
//     records.
//  7. After a restore (sqlite_chain_ops.h): a pull may move last_seq / last_hash forward over
//     batches the device declares lost, recorded in chain_gaps; a batch in such a gap is
//     answered like a chain mismatch and never stored.
//  Nothing in batches, records, equivocations, record_rejections or chain_gaps is updated
//  or deleted.
#include <utility>

#include "store/sqlite_chain_ops.h"
#include "store/sqlite_store.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/signing.h"

namespace vigil::syncd {
namespace {

Result<v1::Assignment> LoadAssignment(sql::Connection& db, const std::string& observer_id) {
  v1::Assignment assignment;
  assignment.set_observer_id(observer_id);
  sql::Statement name(db, "SELECT name FROM observers WHERE observer_id = ?");
  name.BindText(1, observer_id);
  VIGIL_ASSIGN_OR_RETURN(bool found, name.Step());
  if (found) assignment.set_observer_name(name.Text(0));
  sql::Statement stmt(
      db,
      "SELECT s.code, s.name, s.province, s.district, s.commune, s.registered_voters, "
      "s.lat, s.lon FROM assignments a JOIN stations s ON s.code = a.station_code "
      "WHERE a.observer_id = ? ORDER BY s.code LIMIT 1000");
  stmt.BindText(1, observer_id);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    v1::Station* s = assignment.add_stations();
    s->set_code(stmt.Text(0));
    s->set_name(stmt.Text(1));
    s->set_province(stmt.Text(2));
    s->set_district(stmt.Text(3));
    s->set_commune(stmt.Text(4));
    s->set_registered_voters(static_cast<uint32_t>(stmt.Int(5)));
    if (!stmt.IsNull(6)) {
      s->mutable_location()->set_latitude(stmt.Double(6));
      s->mutable_location()->set_longitude(stmt.Double(7));
    }
  }
  return assignment;
}

}  // namespace

Status SqliteStore::AppendInTransaction(sql::Connection& db, const VerifiedBatch& batch,
                                        const ReceiptSigner& signer, AppendOutcome& outcome) {
  sql::Statement device(db,
                        "SELECT status, last_seq, last_hash, observer_id FROM devices "
                        "WHERE device_id = ?");
  device.BindText(1, batch.device_id);
  VIGIL_ASSIGN_OR_RETURN(bool found, device.Step());
  if (!found) return Status::NotFound("unknown device " + batch.device_id);
  if (device.Text(0) != "active") {
    return Status::PermissionDenied("device " + batch.device_id + " is revoked");
  }
  const uint64_t last_seq = static_cast<uint64_t>(device.Int(1));
  const std::string last_hash = device.Blob(2);
  const std::string observer_id = device.Text(3);

  std::string stored_hash;
  if (batch.seq <= last_seq) {
    sql::Statement stored(db, "SELECT hash, response FROM batches WHERE device_id = ? AND seq = ?");
    stored.BindText(1, batch.device_id).Bind(2, static_cast<int64_t>(batch.seq));
    VIGIL_ASSIGN_OR_RETURN(bool row, stored.Step());
    if (!row) {
      VIGIL_ASSIGN_OR_RETURN(bool lost, InChainGap(db, batch.device_id, batch.seq));
      if (!lost) return Status::DataLoss("batch " + std::to_string(batch.seq) + " is missing");
      // The device declared this batch lost and the chain went past it (note 7).
      outcome.verdict = protocol::SequenceVerdict::kChainMismatch;
      outcome.expected_seq = last_seq + 1;
      return Status::Ok();
    }
    stored_hash = stored.Blob(0);
    outcome.response_bytes = stored.Blob(1);
  }
  outcome.verdict = protocol::CheckSequence(last_seq, last_hash, batch.seq, batch.prev_hash,
                                            batch.batch_hash, stored_hash);
  outcome.expected_seq = last_seq + 1;
  const int64_t now = NowMs();
  switch (outcome.verdict) {
    case protocol::SequenceVerdict::kReplay:
      return Status::Ok();
    case protocol::SequenceVerdict::kEquivocation: {
      outcome.response_bytes.clear();
      sql::Statement keep(
          db,
          "INSERT OR IGNORE INTO equivocations(device_id, seq, hash, bytes, signature, "
          "received_at_ms) VALUES (?, ?, ?, ?, ?, ?)");
      keep.BindText(1, batch.device_id).Bind(2, static_cast<int64_t>(batch.seq));
      keep.BindBlob(3, batch.batch_hash).BindBlob(4, batch.batch_bytes);
      keep.BindBlob(5, batch.signature).Bind(6, now);
      VIGIL_RETURN_IF_ERROR(keep.Run());
      if (db.Changes() == 0) return Status::Ok();  // This fork is known already.
      sql::Statement alert(db,
                           "INSERT INTO alerts(kind, device_id, detail, first_at_ms, last_at_ms, "
                           "count) VALUES ('EQUIVOCATION', ?, ?, ?, ?, 1)");
      alert.BindText(1, batch.device_id)
          .BindText(2, "batch " + std::to_string(batch.seq) + " sent twice with different bytes")
          .Bind(3, now)
          .Bind(4, now);
      return alert.Run();
    }
    case protocol::SequenceVerdict::kGap:
    case protocol::SequenceVerdict::kChainMismatch:
      outcome.response_bytes.clear();
      return Status::Ok();
    case protocol::SequenceVerdict::kAccept:
      break;
  }
  outcome.response_bytes.clear();
  if (!batch.payload_status.ok()) {
    outcome.payload_status = batch.payload_status;
    return Status::Ok();
  }

  v1::PushResponse response;
  VIGIL_RETURN_IF_ERROR(StoreBatchRecords(db, batch, observer_id, response, outcome));
  if (!outcome.payload_status.ok()) return Status::Ok();  // Over its forms' size: not stored.

  sql::Statement next_index(db, "SELECT coalesce(max(log_index), 0) + 1 FROM batches");
  VIGIL_ASSIGN_OR_RETURN(bool row, next_index.Step());
  if (!row) return Status::Internal("no log index");
  v1::Receipt receipt;
  receipt.set_device_id(batch.device_id);
  receipt.set_batch_seq(batch.seq);
  receipt.set_batch_hash(batch.batch_hash);
  receipt.set_log_index(static_cast<uint64_t>(next_index.Int(0)));
  receipt.set_received_at_ms(now);
  receipt.set_record_count(static_cast<uint32_t>(batch.records.records_size()));
  VIGIL_ASSIGN_OR_RETURN(v1::SignedReceipt signed_receipt, signer(receipt));
  *response.mutable_receipt() = signed_receipt;
  outcome.response_bytes = response.SerializeAsString();

  sql::Statement insert_batch(db,
                              "INSERT INTO batches(device_id, seq, hash, bytes, signature, "
                              "received_at_ms, log_index, record_count, receipt, response) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert_batch.BindText(1, batch.device_id).Bind(2, static_cast<int64_t>(batch.seq));
  insert_batch.BindBlob(3, batch.batch_hash).BindBlob(4, batch.batch_bytes);
  insert_batch.BindBlob(5, batch.signature).Bind(6, now);
  insert_batch.Bind(7, static_cast<int64_t>(receipt.log_index()));
  insert_batch.Bind(8, receipt.record_count());
  insert_batch.BindBlob(9, signed_receipt.SerializeAsString()).BindBlob(10, outcome.response_bytes);
  VIGIL_RETURN_IF_ERROR(insert_batch.Run());
  sql::Statement advance(db,
                         "UPDATE devices SET last_seq = ?, last_hash = ?, last_seen_ms = ? "
                         "WHERE device_id = ?");
  advance.Bind(1, static_cast<int64_t>(batch.seq)).BindBlob(2, batch.batch_hash);
  advance.Bind(3, now).BindText(4, batch.device_id);
  return advance.Run();
}

Status SqliteStore::EnrollInTransaction(sql::Connection& db, const EnrollParams& params,
                                        v1::EnrollResponse& response) {
  const std::string code_hash = protocol::Sha256(params.code);
  const int64_t now = NowMs();
  sql::Statement code(db,
                      "SELECT code_hash, observer_id, expires_at_ms, spent_at_ms, device_id "
                      "FROM enrollment_codes WHERE code_hash = ?");
  code.BindBlob(1, code_hash);
  VIGIL_ASSIGN_OR_RETURN(bool found, code.Step());
  if (!found || !protocol::ConstantTimeEquals(code.Blob(0), code_hash)) {
    return Status::PermissionDenied("enrollment code is not known");
  }
  const std::string observer_id = code.Text(1);
  // The device id is derived from the key (docs/protocol.md §3): the device knows it before
  // enrolling and its offline batches already carry it.
  const std::string device_id = protocol::DeviceIdFromPublicKey(params.public_key);
  if (!code.IsNull(3)) {
    // The same key repeating its own successful enrollment (its answer was lost) gets the
    // answer again; any other use of a spent code is refused.
    if (code.Text(4) != device_id) {
      return Status::PermissionDenied("enrollment code was already used");
    }
    sql::Statement same(db, "SELECT 1 FROM devices WHERE device_id = ? AND public_key = ?");
    same.BindText(1, device_id).BindBlob(2, params.public_key);
    VIGIL_ASSIGN_OR_RETURN(bool enrolled, same.Step());
    if (!enrolled) return Status::PermissionDenied("enrollment code was already used");
    return FillEnrollResponse(db, params, device_id, observer_id, response);
  }
  if (code.Int(2) <= now) return Status::PermissionDenied("enrollment code has expired");

  sql::Statement key(db, "SELECT 1 FROM devices WHERE public_key = ? OR device_id = ?");
  key.BindBlob(1, params.public_key).BindText(2, device_id);
  VIGIL_ASSIGN_OR_RETURN(bool key_used, key.Step());
  if (key_used) return Status::InvalidArgument("this public key is already enrolled");

  sql::Statement spend(db,
                       "UPDATE enrollment_codes SET spent_at_ms = ?, device_id = ? "
                       "WHERE code_hash = ? AND spent_at_ms IS NULL");
  spend.Bind(1, now).BindText(2, device_id).BindBlob(3, code_hash);
  VIGIL_RETURN_IF_ERROR(spend.Run());
  if (db.Changes() != 1) {
    return Status::PermissionDenied("enrollment code was already used");
  }
  sql::Statement insert(
      db,
      "INSERT INTO devices(device_id, public_key, observer_id, status, "
      "enrolled_at_ms, device_info, last_seen_ms) VALUES (?, ?, ?, 'active', ?, ?, ?)");
  insert.BindText(1, device_id).BindBlob(2, params.public_key).BindText(3, observer_id);
  insert.Bind(4, now).BindBlob(5, params.device_info.SerializeAsString()).Bind(6, now);
  VIGIL_RETURN_IF_ERROR(insert.Run());
  return FillEnrollResponse(db, params, device_id, observer_id, response);
}

Status SqliteStore::FillEnrollResponse(sql::Connection& db, const EnrollParams& params,
                                       const std::string& device_id, const std::string& observer_id,
                                       v1::EnrollResponse& response) {
  response.set_device_id(device_id);
  response.set_server_id(params.server_id);
  response.set_receipt_public_key(params.receipt_public_key);
  VIGIL_ASSIGN_OR_RETURN(*response.mutable_assignment(), LoadAssignment(db, observer_id));
  sql::Statement forms(db, "SELECT definition FROM forms ORDER BY publish_seq LIMIT 1000");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, forms.Step());
    if (!row) break;
    if (!response.add_forms()->ParseFromString(forms.Blob(0))) {
      return Status::DataLoss("stored form unreadable");
    }
  }
  return Status::Ok();
}

Status SqliteStore::PullInTransaction(sql::Connection& db, const PullParams& params,
                                      v1::PullResponse& response) {
  const int64_t now = NowMs();
  sql::Statement device(db,
                        "SELECT status, observer_id, last_seq, last_hash FROM devices "
                        "WHERE device_id = ?");
  device.BindText(1, params.device_id);
  VIGIL_ASSIGN_OR_RETURN(bool found, device.Step());
  if (!found) return Status::NotFound("unknown device " + params.device_id);
  if (device.Text(0) != "active") {
    return Status::PermissionDenied("device " + params.device_id + " is revoked");
  }
  const std::string observer_id = device.Text(1);
  ChainHead head{static_cast<uint64_t>(device.Int(2)), device.Blob(3)};

  sql::Statement nonce(db, "INSERT INTO pull_nonces(device_id, nonce, at_ms) VALUES (?, ?, ?)");
  nonce.BindText(1, params.device_id).BindBlob(2, params.pull.nonce()).Bind(3, now);
  Status fresh = nonce.Run();
  if (fresh.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("pull nonce was seen before");
  }
  VIGIL_RETURN_IF_ERROR(fresh);
  sql::Statement seen(
      db,
      "UPDATE devices SET last_seen_ms = ?, clock_offset_ms = ?, pending_records = ? "
      "WHERE device_id = ?");
  seen.Bind(1, now).Bind(2, params.pull.device_time_ms() - now);
  seen.Bind(3, params.pull.pending_records()).BindText(4, params.device_id);
  VIGIL_RETURN_IF_ERROR(seen.Run());
  VIGIL_RETURN_IF_ERROR(ApplyPullChain(db, params.device_id, params.pull, head, response));
  const uint64_t last_seq = head.last_seq;
  response.set_last_accepted_seq(last_seq);
  response.set_last_accepted_hash(head.last_hash);

  const int64_t cursor = static_cast<int64_t>(std::min<uint64_t>(params.pull.cursor(), INT64_MAX));
  sql::Statement changes(db,
                         "SELECT publish_seq, 'f', definition FROM forms WHERE publish_seq > ?1 "
                         "UNION ALL SELECT publish_seq, 'b', message FROM broadcasts "
                         "WHERE publish_seq > ?1 ORDER BY 1 LIMIT 200");
  changes.Bind(1, cursor);
  uint64_t next_cursor = params.pull.cursor();
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, changes.Step());
    if (!row) break;
    next_cursor = static_cast<uint64_t>(changes.Int(0));
    bool ok = changes.Text(1) == "f" ? response.add_forms()->ParseFromString(changes.Blob(2))
                                     : response.add_broadcasts()->ParseFromString(changes.Blob(2));
    if (!ok) return Status::DataLoss("stored form or broadcast unreadable");
  }
  response.set_next_cursor(next_cursor);
  VIGIL_ASSIGN_OR_RETURN(*response.mutable_assignment(), LoadAssignment(db, observer_id));
  VIGIL_RETURN_IF_ERROR(AddIncidentStatuses(db, params.device_id, response));
  VIGIL_RETURN_IF_ERROR(AddHeldRecords(db, params.device_id, response));
  if (last_seq > 0) {
    sql::Statement receipt(db, "SELECT receipt FROM batches WHERE device_id = ? AND seq = ?");
    receipt.BindText(1, params.device_id).Bind(2, static_cast<int64_t>(last_seq));
    VIGIL_ASSIGN_OR_RETURN(bool row, receipt.Step());
    if (row && !response.mutable_last_receipt()->ParseFromString(receipt.Blob(0))) {
      return Status::DataLoss("stored receipt unreadable");
    }
  }
  return Status::Ok();
}

}  // namespace vigil::syncd
