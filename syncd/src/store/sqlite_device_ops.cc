// The writer-side halves of enroll and pull. Each runs inside the writer's group
// transaction (in its own savepoint), so what it reads is the authoritative state. The
// writer-side half of push is ingest's (ingest/ingest_service.h).
#include <utility>

#include "store/sql_store.h"
#include "store/sqlite_chain_ops.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/server_urls.h"
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

Status SqlStore::EnrollInTransaction(sql::Connection& db, const EnrollParams& params,
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

Status SqlStore::FillEnrollResponse(sql::Connection& db, const EnrollParams& params,
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

Status SqlStore::PullInTransaction(sql::Connection& db, const PullParams& params,
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
  // The deployment's server URLs, when an administrator listed them (docs/protocol.md §5.1).
  sql::Statement urls(db, "SELECT value FROM settings WHERE key = 'server_urls'");
  VIGIL_ASSIGN_OR_RETURN(bool urls_set, urls.Step());
  if (urls_set) {
    for (std::string& url : protocol::SplitServerUrls(urls.Blob(0))) {
      response.add_server_urls(std::move(url));
    }
  }
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
