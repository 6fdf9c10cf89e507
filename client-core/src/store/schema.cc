#include "store/schema.h"

#include <filesystem>
#include <string>
#include <utility>

namespace vigil::client::store {
namespace {

// Migration N takes the store from version N-1 to N. Never edit a released migration:
// add a new one.
constexpr const char* kMigrations[] = {
    // 1: forms, records (drafts and outbox), batches.
    R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
CREATE TABLE forms (
  form_id     TEXT NOT NULL,
  version     INTEGER NOT NULL,
  kind        INTEGER NOT NULL,
  definition  BLOB NOT NULL,     -- serialized vigil.v1.FormDefinition (not secret)
  imported_at INTEGER NOT NULL,
  PRIMARY KEY (form_id, version)
);
CREATE TABLE batches (
  seq          INTEGER PRIMARY KEY,   -- 1, 2, 3 ... no gap
  hash         BLOB NOT NULL,         -- SHA-256 of the batch bytes
  prev_hash    BLOB NOT NULL,
  record_count INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  state        INTEGER NOT NULL,      -- 0 pending, 1 acknowledged
  sealed       BLOB NOT NULL          -- AES-GCM of the serialized SignedBatch
);
CREATE TABLE records (
  record_id    TEXT PRIMARY KEY,      -- submission or incident UUID
  kind         INTEGER NOT NULL,      -- 1 submission, 2 incident
  form_id      TEXT NOT NULL,
  form_version INTEGER NOT NULL,
  state        INTEGER NOT NULL,      -- 0 draft, 1 outbox, 2 batched, 3 acknowledged
  created_at   INTEGER NOT NULL,
  finalized_at INTEGER,
  outbox_order INTEGER UNIQUE,        -- order of finalization; NULL for drafts
  batch_seq    INTEGER REFERENCES batches(seq),
  sealed       BLOB NOT NULL          -- AES-GCM of the serialized vigil.v1.Record
);
CREATE INDEX records_by_state ON records(state, outbox_order);
)sql",
    // 2: what sync brings: receipts, assigned stations, broadcasts, incident statuses.
    R"sql(
CREATE TABLE receipts (
  batch_seq   INTEGER PRIMARY KEY REFERENCES batches(seq),
  receipt     BLOB NOT NULL,          -- serialized vigil.v1.SignedReceipt, as received
  received_at INTEGER NOT NULL
);
CREATE TABLE stations (
  code   TEXT PRIMARY KEY,
  sealed BLOB NOT NULL                -- AES-GCM of the serialized vigil.v1.Station
);
CREATE TABLE inbox (
  broadcast_id TEXT PRIMARY KEY,
  received_at  INTEGER NOT NULL,
  read_at      INTEGER,
  sealed       BLOB NOT NULL          -- AES-GCM of the serialized vigil.v1.Broadcast
);
CREATE TABLE incident_status (
  incident_id TEXT PRIMARY KEY,
  case_id     TEXT NOT NULL,
  status      INTEGER NOT NULL,
  changed_at  INTEGER NOT NULL
);
)sql",
    // 3: records the server holds in quarantine, with its reason (sealed: a reason may name
    // a station or an observer). A row goes when a pull no longer lists the record.
    R"sql(
CREATE TABLE server_holds (
  record_id TEXT PRIMARY KEY,
  held_at   INTEGER NOT NULL,
  sealed    BLOB NOT NULL             -- AES-GCM of the server's reason
);
)sql",
};

static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kLatestSchema);

}  // namespace

Result<std::unique_ptr<sqlite::Db>> OpenStore(const std::string& path, bool create, bool durable) {
  std::error_code ec;
  if (!create && !std::filesystem::exists(path, ec)) {
    return Status::NotFound("no store at " + path + " (run `observer init` first)");
  }
  sqlite::OpenOptions options;
  options.create = create;
  options.busy_timeout_ms = 5000;
  options.durable = durable;
  options.secure_delete = true;
  VIGIL_ASSIGN_OR_RETURN(sqlite::Db db, sqlite::Db::Open(path, options));
  return std::make_unique<sqlite::Db>(std::move(db));
}

Result<int> SchemaVersion(sqlite::Db& db) {
  VIGIL_ASSIGN_OR_RETURN(int64_t v, db.QueryInt("PRAGMA user_version"));
  return static_cast<int>(v);
}

Status Migrate(sqlite::Db& db, int target) {
  VIGIL_ASSIGN_OR_RETURN(int version, SchemaVersion(db));
  if (version > kLatestSchema) {
    return Status::Unimplemented("this store was written by a newer Vigil (schema " +
                                 std::to_string(version) + "; this build knows up to " +
                                 std::to_string(kLatestSchema) + "); upgrade the app");
  }
  for (int next = version + 1; next <= target; ++next) {
    sqlite::Transaction txn(db);
    VIGIL_RETURN_IF_ERROR(txn.status());
    VIGIL_RETURN_IF_ERROR(
        db.Exec(kMigrations[next - 1]).WithContext("schema migration " + std::to_string(next)));
    VIGIL_RETURN_IF_ERROR(db.Exec("PRAGMA user_version=" + std::to_string(next)));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

}  // namespace vigil::client::store
