// Versioned schema of the SQLite store. Migration N takes user_version N-1 to N; each runs in
// the same transaction as the version bump. A database newer than kSchemaVersion is refused.
//
// Reports are evidence: batches, equivocations, records, record_rejections and audit_log are
// append-only, enforced by triggers that refuse UPDATE and DELETE.
#include <string>

#include "store/sql_store.h"
#include "store/sqlite_connection.h"

namespace vigil::syncd {
namespace {

constexpr const char* kMigrations[] = {
    // 1: the first schema.
    R"sql(
CREATE TABLE settings(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE stations(
  code TEXT PRIMARY KEY, name TEXT NOT NULL, province TEXT NOT NULL, district TEXT NOT NULL,
  commune TEXT NOT NULL, registered_voters INTEGER NOT NULL, lat REAL, lon REAL);
CREATE TABLE observers(
  observer_id TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL);
CREATE TABLE assignments(
  observer_id TEXT NOT NULL REFERENCES observers(observer_id),
  station_code TEXT NOT NULL REFERENCES stations(code),
  PRIMARY KEY(observer_id, station_code)) WITHOUT ROWID;
CREATE TABLE forms(
  form_id TEXT NOT NULL, version INTEGER NOT NULL, kind INTEGER NOT NULL,
  definition BLOB NOT NULL, definition_hash BLOB NOT NULL, publish_seq INTEGER NOT NULL UNIQUE,
  published_at_ms INTEGER NOT NULL, PRIMARY KEY(form_id, version));
CREATE TABLE broadcasts(
  broadcast_id TEXT PRIMARY KEY, message BLOB NOT NULL, publish_seq INTEGER NOT NULL UNIQUE,
  sent_at_ms INTEGER NOT NULL);
CREATE TABLE enrollment_codes(
  code_hash BLOB PRIMARY KEY, observer_id TEXT NOT NULL REFERENCES observers(observer_id),
  created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL, spent_at_ms INTEGER,
  device_id TEXT);
CREATE TABLE devices(
  device_id TEXT PRIMARY KEY, public_key BLOB NOT NULL UNIQUE,
  observer_id TEXT NOT NULL REFERENCES observers(observer_id),
  status TEXT NOT NULL CHECK(status IN ('active', 'revoked')),
  revoked_reason TEXT NOT NULL DEFAULT '', revoked_at_ms INTEGER,
  enrolled_at_ms INTEGER NOT NULL, device_info BLOB NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0, last_hash BLOB NOT NULL DEFAULT x'',
  last_seen_ms INTEGER NOT NULL DEFAULT 0, clock_offset_ms INTEGER NOT NULL DEFAULT 0,
  pending_records INTEGER NOT NULL DEFAULT 0);
CREATE TABLE batches(
  device_id TEXT NOT NULL REFERENCES devices(device_id), seq INTEGER NOT NULL,
  hash BLOB NOT NULL, bytes BLOB NOT NULL, signature BLOB NOT NULL,
  received_at_ms INTEGER NOT NULL, log_index INTEGER NOT NULL UNIQUE,
  record_count INTEGER NOT NULL, receipt BLOB NOT NULL, response BLOB NOT NULL,
  PRIMARY KEY(device_id, seq));
CREATE TABLE equivocations(
  id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL,
  bytes BLOB NOT NULL, signature BLOB NOT NULL, received_at_ms INTEGER NOT NULL,
  UNIQUE(device_id, seq, hash));
CREATE TABLE records(
  record_id TEXT PRIMARY KEY, kind TEXT NOT NULL, device_id TEXT NOT NULL,
  batch_seq INTEGER NOT NULL, content_hash BLOB NOT NULL, bytes BLOB NOT NULL,
  station_code TEXT NOT NULL, form_id TEXT NOT NULL, form_version INTEGER NOT NULL,
  observer_id TEXT NOT NULL, received_at_ms INTEGER NOT NULL);
CREATE INDEX records_by_station ON records(station_code, form_id);
CREATE TABLE record_rejections(
  id INTEGER PRIMARY KEY, record_id TEXT NOT NULL, device_id TEXT NOT NULL,
  batch_seq INTEGER NOT NULL, reason TEXT NOT NULL, content_hash BLOB NOT NULL,
  received_at_ms INTEGER NOT NULL);
CREATE TABLE rejections(reason TEXT PRIMARY KEY, count INTEGER NOT NULL,
                        last_at_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE pull_nonces(device_id TEXT NOT NULL, nonce BLOB NOT NULL, at_ms INTEGER NOT NULL,
                         PRIMARY KEY(device_id, nonce)) WITHOUT ROWID;
CREATE TRIGGER batches_append_only_u BEFORE UPDATE ON batches
  BEGIN SELECT RAISE(ABORT, 'batches are append-only'); END;
CREATE TRIGGER batches_append_only_d BEFORE DELETE ON batches
  BEGIN SELECT RAISE(ABORT, 'batches are append-only'); END;
CREATE TRIGGER equivocations_append_only_u BEFORE UPDATE ON equivocations
  BEGIN SELECT RAISE(ABORT, 'equivocations are append-only'); END;
CREATE TRIGGER equivocations_append_only_d BEFORE DELETE ON equivocations
  BEGIN SELECT RAISE(ABORT, 'equivocations are append-only'); END;
CREATE TRIGGER records_append_only_u BEFORE UPDATE ON records
  BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER records_append_only_d BEFORE DELETE ON records
  BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER record_rejections_append_only_u BEFORE UPDATE ON record_rejections
  BEGIN SELECT RAISE(ABORT, 'record_rejections are append-only'); END;
CREATE TRIGGER record_rejections_append_only_d BEFORE DELETE ON record_rejections
  BEGIN SELECT RAISE(ABORT, 'record_rejections are append-only'); END;
)sql",
    // 2: merge (docs/merge.md). Everything here but audit_log is derived from records,
    // overrides and case_status, and may be recomputed. masters carries its station's area
    // (NULL while the station is unknown; ImportStations keeps it current) so that a coverage
    // roll-up is an index scan, not a join.
    R"sql(
CREATE TABLE merge_latest(
  station_code TEXT NOT NULL, form_id TEXT NOT NULL, observer_id TEXT NOT NULL,
  submission_id TEXT NOT NULL, device_id TEXT NOT NULL, finalized_at_ms INTEGER NOT NULL,
  PRIMARY KEY(station_code, form_id, observer_id)) WITHOUT ROWID;
CREATE TABLE masters(
  station_code TEXT NOT NULL, form_id TEXT NOT NULL, form_version INTEGER NOT NULL,
  status INTEGER NOT NULL, master BLOB NOT NULL, updated_at_ms INTEGER NOT NULL,
  province TEXT, district TEXT, commune TEXT,
  PRIMARY KEY(station_code, form_id)) WITHOUT ROWID;
CREATE INDEX masters_rollup ON masters(form_id, province, district, commune, status);
CREATE INDEX stations_by_area ON stations(province, district, commune);
CREATE TABLE conflicts(
  station_code TEXT NOT NULL, form_id TEXT NOT NULL, question_id TEXT NOT NULL,
  conflict BLOB NOT NULL, PRIMARY KEY(station_code, form_id, question_id)) WITHOUT ROWID;
CREATE TABLE overrides(
  station_code TEXT NOT NULL, form_id TEXT NOT NULL, question_id TEXT NOT NULL,
  override BLOB NOT NULL, PRIMARY KEY(station_code, form_id, question_id)) WITHOUT ROWID;
CREATE TABLE qa_flags(
  id INTEGER PRIMARY KEY, submission_id TEXT NOT NULL, station_code TEXT NOT NULL,
  form_id TEXT NOT NULL, check_id TEXT NOT NULL, flag BLOB NOT NULL);
CREATE TABLE cases(
  case_id TEXT PRIMARY KEY, station_code TEXT NOT NULL, first_occurred_at_ms INTEGER NOT NULL,
  body BLOB NOT NULL);
CREATE INDEX cases_by_station ON cases(station_code, first_occurred_at_ms);
CREATE TABLE case_members(
  incident_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, station_code TEXT NOT NULL,
  device_id TEXT NOT NULL);
CREATE INDEX case_members_by_station ON case_members(station_code);
CREATE INDEX case_members_by_device ON case_members(device_id);
CREATE TABLE case_status(
  case_id TEXT PRIMARY KEY, status INTEGER NOT NULL, changed_at_ms INTEGER NOT NULL,
  changed_by TEXT NOT NULL);
CREATE INDEX records_incidents_by_station ON records(station_code) WHERE kind = 'incident';
CREATE TABLE audit_log(
  id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TRIGGER audit_log_append_only_u BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_append_only_d BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)sql",
    // 3: the coordinators' dashboard (docs/dashboard.md). minute_counts is derived from
    // records (reports per minute without scanning them); alerts are notices, not evidence.
    R"sql(
CREATE TABLE coordinators(
  name TEXT PRIMARY KEY, role INTEGER NOT NULL, password_hash TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL, disabled INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE alerts(
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, device_id TEXT NOT NULL, detail TEXT NOT NULL,
  first_at_ms INTEGER NOT NULL, last_at_ms INTEGER NOT NULL, count INTEGER NOT NULL);
CREATE INDEX alerts_by_key ON alerts(kind, device_id, last_at_ms);
CREATE INDEX alerts_by_time ON alerts(last_at_ms);
CREATE TABLE minute_counts(
  minute INTEGER NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY(minute, kind)) WITHOUT ROWID;
INSERT INTO minute_counts SELECT received_at_ms / 60000, kind, count(*) FROM records
  GROUP BY 1, 2;
CREATE INDEX devices_by_seen ON devices(last_seen_ms);
CREATE INDEX qa_flags_by_station ON qa_flags(station_code);
CREATE INDEX assignments_by_station ON assignments(station_code);
INSERT INTO alerts(kind, device_id, detail, first_at_ms, last_at_ms, count)
  SELECT 'EQUIVOCATION', device_id, 'batch ' || seq || ' sent twice with different bytes',
         received_at_ms, received_at_ms, 1 FROM equivocations;
)sql",
    // 4: quarantine (docs/protocol.md §8.5). A record that breaks a form rule or names a
    // station or observer its device may not report for is stored in records as received
    // and listed here; it is merged only once released. records.observer_id is the device's
    // enrolled observer from now on; claimed_observer_id keeps what the record said.
    // Only the release columns of a row ever change, once.
    R"sql(
CREATE TABLE quarantine(
  record_id TEXT PRIMARY KEY, reason TEXT NOT NULL, claimed_observer_id TEXT NOT NULL,
  quarantined_at_ms INTEGER NOT NULL, released_at_ms INTEGER, released_by TEXT,
  release_reason TEXT) WITHOUT ROWID;
CREATE INDEX quarantine_by_time ON quarantine(quarantined_at_ms);
CREATE TRIGGER quarantine_delete BEFORE DELETE ON quarantine
  BEGIN SELECT RAISE(ABORT, 'quarantine rows are never deleted'); END;
CREATE TRIGGER quarantine_release_once BEFORE UPDATE ON quarantine
  WHEN OLD.released_at_ms IS NOT NULL OR NEW.record_id != OLD.record_id
    OR NEW.reason != OLD.reason OR NEW.claimed_observer_id != OLD.claimed_observer_id
    OR NEW.quarantined_at_ms != OLD.quarantined_at_ms
  BEGIN SELECT RAISE(ABORT, 'a quarantine row changes only by its one release'); END;
)sql",
    // 5: backups and chain gaps (docs/operations.md §9, docs/protocol.md §10.4). A completed
    // `syncd admin backup` adds a row to backups and, per device, the newest batch the copy
    // holds to backup_coverage: devices purge nothing above it. A chain gap is a run of a
    // device's batches the server lost (a restore) and the device no longer holds; the chain
    // goes on from `hash`, the hash of batch to_seq. All three are append-only.
    R"sql(
CREATE TABLE backups(
  id INTEGER PRIMARY KEY, completed_at_ms INTEGER NOT NULL, file TEXT NOT NULL,
  sha256 BLOB NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE backup_coverage(
  backup_id INTEGER NOT NULL REFERENCES backups(id), device_id TEXT NOT NULL,
  seq INTEGER NOT NULL, PRIMARY KEY(device_id, backup_id)) WITHOUT ROWID;
CREATE TABLE chain_gaps(
  device_id TEXT NOT NULL REFERENCES devices(device_id), from_seq INTEGER NOT NULL,
  to_seq INTEGER NOT NULL CHECK(to_seq >= from_seq), hash BLOB NOT NULL,
  recorded_at_ms INTEGER NOT NULL, PRIMARY KEY(device_id, from_seq)) WITHOUT ROWID;
CREATE TRIGGER backups_no_update BEFORE UPDATE ON backups
  BEGIN SELECT RAISE(ABORT, 'backups are append-only'); END;
CREATE TRIGGER backups_no_delete BEFORE DELETE ON backups
  BEGIN SELECT RAISE(ABORT, 'backups are append-only'); END;
CREATE TRIGGER backup_coverage_no_update BEFORE UPDATE ON backup_coverage
  BEGIN SELECT RAISE(ABORT, 'backup_coverage is append-only'); END;
CREATE TRIGGER backup_coverage_no_delete BEFORE DELETE ON backup_coverage
  BEGIN SELECT RAISE(ABORT, 'backup_coverage is append-only'); END;
CREATE TRIGGER chain_gaps_no_update BEFORE UPDATE ON chain_gaps
  BEGIN SELECT RAISE(ABORT, 'chain_gaps are append-only'); END;
CREATE TRIGGER chain_gaps_no_delete BEFORE DELETE ON chain_gaps
  BEGIN SELECT RAISE(ABORT, 'chain_gaps are append-only'); END;
)sql",
    // 6: several syncd nodes on one database (docs/architecture.md §6). log_order holds the
    // next log index: a transaction that appends to the ledger locks its one row first, so
    // log indexes follow commit order without gaps or collisions across nodes. Coordinators'
    // sessions live here so that any node serves them; a session is found by SHA-256 of its
    // token, never the token itself.
    R"sql(
CREATE TABLE log_order(id INTEGER PRIMARY KEY CHECK(id = 1), next_index INTEGER NOT NULL);
INSERT INTO log_order(id, next_index) SELECT 1, coalesce(max(log_index), 0) + 1 FROM batches;
CREATE TRIGGER log_order_forward BEFORE UPDATE ON log_order
  WHEN NEW.next_index <= OLD.next_index OR NEW.id != OLD.id
  BEGIN SELECT RAISE(ABORT, 'the log order only moves forward'); END;
CREATE TRIGGER log_order_no_delete BEFORE DELETE ON log_order
  BEGIN SELECT RAISE(ABORT, 'the log order is never deleted'); END;
CREATE TABLE coordinator_sessions(
  token_hash BLOB PRIMARY KEY, name TEXT NOT NULL REFERENCES coordinators(name),
  role INTEGER NOT NULL, csrf_token TEXT NOT NULL, created_ms INTEGER NOT NULL,
  last_used_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX coordinator_sessions_by_name ON coordinator_sessions(name);
CREATE INDEX coordinator_sessions_by_use ON coordinator_sessions(last_used_ms);
)sql",
};

static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion,
              "one migration per schema version");

}  // namespace

Result<int> SchemaVersion(sql::Connection& db) {
  sql::Statement stmt(db, "PRAGMA user_version");
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Status::Internal("PRAGMA user_version returned nothing");
  return static_cast<int>(stmt.Int(0));
}

Status MigrateSchema(sql::Connection& db) {
  sql::Transaction txn(db);
  VIGIL_RETURN_IF_ERROR(txn.status());
  VIGIL_ASSIGN_OR_RETURN(int version, SchemaVersion(db));
  if (version > kSchemaVersion) {
    return Status::Unimplemented("the store has schema version " + std::to_string(version) +
                                 "; this syncd knows up to " + std::to_string(kSchemaVersion));
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    VIGIL_RETURN_IF_ERROR(
        db.Exec(kMigrations[v]).WithContext("migration " + std::to_string(v + 1)));
  }
  if (version != kSchemaVersion) {
    VIGIL_RETURN_IF_ERROR(db.Exec("PRAGMA user_version=" + std::to_string(kSchemaVersion)));
  }
  return txn.Commit();
}

Result<int> SchemaVersion(sqlite::Db& db) {
  SqliteConnection conn(&db);
  return SchemaVersion(static_cast<sql::Connection&>(conn));
}

Status MigrateSchema(sqlite::Db& db) {
  SqliteConnection conn(&db);
  return MigrateSchema(static_cast<sql::Connection&>(conn));
}

}  // namespace vigil::syncd
