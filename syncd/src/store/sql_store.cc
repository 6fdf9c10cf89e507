#include "store/sql_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <set>

#include "records/record_rules.h"
#include "store/pg_listener.h"
#include "store/sqlite_connection.h"
#include "store/sqlite_rows.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/form_rules.h"

namespace vigil::syncd {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<SqlStore>> SqlStore::Open(const std::string& path, bool create,
                                                 SqlStoreOptions options) {
  ConnectionFactory connect =
      [path, timeout = options.busy_timeout_ms]() -> Result<std::unique_ptr<sql::Connection>> {
    VIGIL_ASSIGN_OR_RETURN(auto conn, SqliteConnection::Open(path, false, timeout));
    return std::unique_ptr<sql::Connection>(std::move(conn));
  };
  VIGIL_ASSIGN_OR_RETURN(auto db, SqliteConnection::Open(path, create, options.busy_timeout_ms));
  VIGIL_ASSIGN_OR_RETURN(int before, SchemaVersion(*db));
  if (create) {
    VIGIL_RETURN_IF_ERROR(MigrateSchema(*db));
  } else {
    VIGIL_ASSIGN_OR_RETURN(int version, SchemaVersion(*db));
    if (version > kSchemaVersion) {
      return Status::Unimplemented("the store has schema version " + std::to_string(version) +
                                   "; this syncd knows up to " + std::to_string(kSchemaVersion));
    }
    if (version == 0) {
      return Status::FailedPrecondition(path + " is not an initialized store; run `syncd init`");
    }
    if (version < kSchemaVersion) VIGIL_RETURN_IF_ERROR(MigrateSchema(*db));
  }
  std::unique_ptr<SqlStore> store(new SqlStore(std::move(connect), std::move(db), options));
  // Records stored before merge existed (schema 1) are merged once, on the upgrade.
  if (before == 1 && options.merge) {
    VIGIL_RETURN_IF_ERROR(
        store->RunSync([&store](sql::Connection& writer) { return store->ReplayMerge(writer); })
            .WithContext("merging the records stored before schema 2"));
  }
  if (options.max_db_bytes > 0) {
    VIGIL_RETURN_IF_ERROR(store->SetMaxDbBytes(options.max_db_bytes).status());
  }
  return store;
}

SqlStore::SqlStore(ConnectionFactory connect, std::unique_ptr<sql::Connection> writer,
                   SqlStoreOptions options, std::string node_id)
    : connect_(std::move(connect)),
      options_(options),
      writer_db_(std::move(writer)),
      node_id_(std::move(node_id)),
      notify_sql_(node_id_.empty() ? ""
                                   : "SELECT pg_notify('vigil_changes', '" + node_id_ +
                                         "') WHERE txid_current_if_assigned() IS NOT NULL") {
  writer_ = std::thread([this] { WriterLoop(); });
}

SqlStore::~SqlStore() { Close(); }

void SqlStore::Close() {
  if (listener_) listener_->Stop();
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

size_t SqlStore::WriterQueueDepth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

Status SqlStore::Submit(Job job, bool droppable) {
  {
    std::lock_guard lock(mu_);
    if (closing_) return Status::Unavailable("the store is shutting down");
    size_t limit = droppable ? options_.max_queue / 2 : options_.max_queue;
    if (queue_.size() >= limit) return Status::Unavailable("the store's write queue is full");
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return Status::Ok();
}

Status SqlStore::RunSync(std::function<Status(sql::Connection&)> run) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  VIGIL_RETURN_IF_ERROR(
      Submit(Job{std::move(run), [promise](const Status& status) { promise->set_value(status); }}));
  return future.get();
}

bool SqlStore::EnsureWriter() {
  if (!writer_db_->Broken()) return true;
  const int64_t now = NowMs();
  if (database_up_.exchange(false)) {
    down_since_ms_ = now;
    next_connect_ms_ = now;
    connect_backoff_ms_ = 100;
    std::fprintf(stderr, "syncd: store: the connection to the database was lost; reconnecting\n");
    // The pool's idle readers went to the same server: none is used again.
    std::lock_guard lock(readers_mu_);
    idle_readers_.clear();
  }
  if (now < next_connect_ms_) return false;
  Result<std::unique_ptr<sql::Connection>> fresh = connect_();
  if (!fresh.ok()) {
    next_connect_ms_ = now + connect_backoff_ms_;
    connect_backoff_ms_ = std::min<int64_t>(connect_backoff_ms_ * 2, 5000);
    std::fprintf(stderr, "syncd: store: %s; next try in %lld ms\n",
                 fresh.status().message().c_str(), static_cast<long long>(next_connect_ms_ - now));
    return false;
  }
  writer_statements_.clear();  // Prepared on the old connection.
  writer_db_ = std::move(fresh).value();
  reconnects_.fetch_add(1);
  database_up_.store(true);
  std::fprintf(stderr, "syncd: store: reconnected to the database after %lld ms\n",
               static_cast<long long>(NowMs() - down_since_ms_));
  return true;
}

void SqlStore::WriterLoop() {
  while (true) {
    std::vector<Job> group;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing_ and drained.
      while (!queue_.empty() && group.size() < options_.max_group) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!EnsureWriter()) {
      for (Job& job : group) {
        if (job.finish) {
          job.finish(Status::Unavailable("the database is unreachable; syncd is reconnecting"));
        }
      }
      continue;
    }
    std::vector<Status> statuses(group.size());
    Status commit;
    {
      sql::Transaction txn(*writer_db_);
      commit = txn.status();
      if (commit.ok()) {
        for (size_t i = 0; i < group.size(); ++i) {
          // Statements, not Exec: on PostgreSQL the SAVEPOINT is queued and the RELEASE goes
          // out behind the job's queued writes, one round trip for all of them.
          const size_t logged = pending_log_.size();
          const size_t tasks = group_tasks_.size();
          Status savepoint = Cached(*writer_db_, "SAVEPOINT job").Queue();
          if (!savepoint.ok()) {
            statuses[i] = savepoint;
            continue;
          }
          try {
            statuses[i] = group[i].run(*writer_db_);
          } catch (const std::exception& e) {
            statuses[i] = Status::Internal(std::string("write job threw: ") + e.what());
          }
          // On PostgreSQL a queued write's failure may arrive only with the RELEASE.
          if (statuses[i].ok()) statuses[i] = Cached(*writer_db_, "RELEASE job").Run();
          if (!statuses[i].ok()) {
            (void)writer_db_->Exec("ROLLBACK TO job; RELEASE job");
            pending_log_.erase(pending_log_.begin() + static_cast<std::ptrdiff_t>(logged),
                               pending_log_.end());
            group_tasks_.erase(group_tasks_.begin() + static_cast<std::ptrdiff_t>(tasks),
                               group_tasks_.end());
          }
          // SQLITE_FULL, IOERR and NOMEM may roll back the whole transaction, not just the
          // statement: the jobs before this one are gone too, and the next would run (and
          // commit) on its own. The whole group fails with this job's error (note 2).
          if (!writer_db_->InTransaction()) {
            commit =
                statuses[i].ok() ? Status::Internal("the transaction ended early") : statuses[i];
            break;
          }
        }
        // Cached statements may still hold a read cursor; none survives the transaction.
        for (auto& [sql, stmt] : writer_statements_) stmt->Reset();
        // The accepted batches' log indexes, last (note 7).
        if (commit.ok()) commit = SealLog(*writer_db_);
        // Other nodes hear of what this transaction wrote when, and only if, it commits.
        if (commit.ok() && !notify_sql_.empty()) commit = writer_db_->Exec(notify_sql_);
        if (commit.ok()) commit = txn.Commit();
        if (commit.ok()) transactions_.fetch_add(1);
      }
    }
    pending_log_.clear();  // Sealed, or gone with the rolled-back group.
    group_tasks_.clear();
    for (size_t i = 0; i < group.size(); ++i) {
      if (group[i].finish) group[i].finish(commit.ok() ? statuses[i] : commit);
    }
  }
}

Result<SqlStore::Reader> SqlStore::Read() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<sql::Connection> conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return Reader(*this, std::move(conn));
    }
  }
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<sql::Connection> conn, connect_());
  return Reader(*this, std::move(conn));
}

void SqlStore::ReleaseReader(std::unique_ptr<sql::Connection> db) {
  if (db->Broken()) return;  // Its server went away (note 5).
  std::lock_guard lock(readers_mu_);
  if (idle_readers_.size() < options_.max_idle_readers) idle_readers_.push_back(std::move(db));
}

Result<std::string> SqlStore::GetSetting(const std::string& key) {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(reader, "SELECT value FROM settings WHERE key = ?");
  stmt.BindText(1, key);
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Status::NotFound("setting " + key + " is not set");
  return stmt.Blob(0);
}

Status SqlStore::InitSetting(const std::string& key, const std::string& value) {
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement get(db, "SELECT value FROM settings WHERE key = ?");
    get.BindText(1, key);
    VIGIL_ASSIGN_OR_RETURN(bool row, get.Step());
    if (row) {
      if (get.Blob(0) == value) return Status::Ok();
      return Status::AlreadyExists("setting " + key + " is already set to another value");
    }
    sql::Statement put(db, "INSERT INTO settings(key, value) VALUES (?, ?)");
    put.BindText(1, key).BindBlob(2, value);
    return put.Run();
  });
}

Status SqlStore::PutSetting(const std::string& key, const std::string& value) {
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement put(db,
                       "INSERT INTO settings(key, value) VALUES (?1, ?2) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    put.BindText(1, key).BindBlob(2, value);
    return put.Run();
  });
}

Result<std::optional<DeviceRecord>> SqlStore::FindDevice(const std::string& device_id) {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(
      reader,
      "SELECT device_id, public_key, observer_id, status, revoked_reason, last_seq, "
      "last_hash, last_seen_ms, clock_offset_ms, pending_records, enrolled_at_ms "
      "FROM devices WHERE device_id = ?");
  stmt.BindText(1, device_id);
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<DeviceRecord>();
  DeviceRecord d;
  d.device_id = stmt.Text(0);
  d.public_key = stmt.Blob(1);
  d.observer_id = stmt.Text(2);
  d.active = stmt.Text(3) == "active";
  d.revoked_reason = stmt.Text(4);
  d.last_seq = static_cast<uint64_t>(stmt.Int(5));
  d.last_hash = stmt.Blob(6);
  d.last_seen_ms = stmt.Int(7);
  d.clock_offset_ms = stmt.Int(8);
  d.pending_records = static_cast<uint32_t>(stmt.Int(9));
  d.enrolled_at_ms = stmt.Int(10);
  return std::optional<DeviceRecord>(std::move(d));
}

Result<std::optional<std::pair<std::string, std::string>>> SqlStore::FindBatchResponse(
    const std::string& device_id, uint64_t seq) {
  using Found = std::optional<std::pair<std::string, std::string>>;
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(reader, "SELECT hash, response FROM batches WHERE device_id = ? AND seq = ?");
  stmt.BindText(1, device_id).Bind(2, static_cast<int64_t>(seq));
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Found();
  return Found(std::make_pair(stmt.Blob(0), stmt.Blob(1)));
}

void SqlStore::Enroll(EnrollParams params, std::function<void(Result<v1::EnrollResponse>)> done) {
  auto in = std::make_shared<EnrollParams>(std::move(params));
  auto response = std::make_shared<v1::EnrollResponse>();
  auto shared_done =
      std::make_shared<std::function<void(Result<v1::EnrollResponse>)>>(std::move(done));
  Status queued = Submit(Job{
      [this, in, response](sql::Connection& db) { return EnrollInTransaction(db, *in, *response); },
      [response, shared_done](const Status& status) {
        if (status.ok()) {
          (*shared_done)(std::move(*response));
        } else {
          (*shared_done)(status);
        }
      }});
  if (!queued.ok()) (*shared_done)(queued);
}

void SqlStore::Pull(PullParams params, std::function<void(Result<v1::PullResponse>)> done) {
  auto in = std::make_shared<PullParams>(std::move(params));
  auto response = std::make_shared<v1::PullResponse>();
  auto shared_done =
      std::make_shared<std::function<void(Result<v1::PullResponse>)>>(std::move(done));
  Status queued = Submit(Job{
      [this, in, response](sql::Connection& db) { return PullInTransaction(db, *in, *response); },
      [response, shared_done](const Status& status) {
        if (status.ok()) {
          (*shared_done)(std::move(*response));
        } else {
          (*shared_done)(status);
        }
      }});
  if (!queued.ok()) (*shared_done)(queued);
}

void SqlStore::CountRejection(const std::string& reason) {
  (void)Submit(Job{[reason](sql::Connection& db) {
                     sql::Statement stmt(db,
                                         "INSERT INTO rejections(reason, count, last_at_ms) "
                                         "VALUES (?, 1, ?) ON CONFLICT(reason) DO UPDATE SET "
                                         "count = count + 1, last_at_ms = excluded.last_at_ms");
                     stmt.BindText(1, reason).Bind(2, NowMs());
                     return stmt.Run();
                   },
                   nullptr},
               /*droppable=*/true);
}

Status SqlStore::ImportStations(const std::vector<v1::Station>& stations) {
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement stmt(
        db,
        "INSERT INTO stations(code, name, province, district, commune, "
        "registered_voters, lat, lon) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(code) DO UPDATE SET name = excluded.name, province = "
        "excluded.province, district = excluded.district, commune = excluded.commune, "
        "registered_voters = excluded.registered_voters, lat = excluded.lat, "
        "lon = excluded.lon");
    sql::Statement area(db,
                        "UPDATE masters SET province = ?2, district = ?3, commune = ?4 "
                        "WHERE station_code = ?1 AND (province IS DISTINCT FROM ?2 OR "
                        "district IS DISTINCT FROM ?3 OR commune IS DISTINCT FROM ?4)");
    for (const v1::Station& s : stations) {
      stmt.Reset();
      stmt.BindText(1, s.code()).BindText(2, s.name()).BindText(3, s.province());
      stmt.BindText(4, s.district()).BindText(5, s.commune()).Bind(6, s.registered_voters());
      if (s.has_location()) {
        stmt.BindDouble(7, s.location().latitude()).BindDouble(8, s.location().longitude());
      }
      VIGIL_RETURN_IF_ERROR(stmt.Run().WithContext("station " + s.code()));
      // Masters carry their station's area for coverage roll-ups (sqlite_schema.cc, 2).
      area.Reset();
      area.BindText(1, s.code()).BindText(2, s.province()).BindText(3, s.district());
      area.BindText(4, s.commune());
      VIGIL_RETURN_IF_ERROR(area.Run());
    }
    return Status::Ok();
  });
}

Status SqlStore::PublishForm(const v1::FormDefinition& form) {
  // Devices import published forms with these rules; refuse here what they would refuse.
  VIGIL_RETURN_IF_ERROR(protocol::Form::Compile(form).status());
  std::string bytes = DeterministicBytes(form);
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement get(db, "SELECT definition FROM forms WHERE form_id = ? AND version = ?");
    get.BindText(1, form.form_id()).Bind(2, form.version());
    VIGIL_ASSIGN_OR_RETURN(bool row, get.Step());
    if (row) {
      v1::FormDefinition stored;
      if (stored.ParseFromString(get.Blob(0)) && DeterministicBytes(stored) == bytes) {
        return Status::Ok();  // Publishing the same thing again is a no-op.
      }
      return Status::AlreadyExists("form " + form.form_id() + " version " +
                                   std::to_string(form.version()) +
                                   " is already published with other content; publish a new "
                                   "version instead");
    }
    sql::Statement put(
        db,
        "INSERT INTO forms(form_id, version, kind, definition, definition_hash, "
        "publish_seq, published_at_ms) VALUES (?, ?, ?, ?, ?, (SELECT 1 + coalesce(max(seq), "
        "0) FROM (SELECT max(publish_seq) AS seq FROM forms UNION ALL SELECT max(publish_seq) "
        "FROM broadcasts) AS published), ?)");
    put.BindText(1, form.form_id()).Bind(2, form.version()).Bind(3, form.kind());
    put.BindBlob(4, bytes).BindBlob(5, protocol::Sha256(bytes)).Bind(6, NowMs());
    return put.Run();
  });
}

Status SqlStore::AddObservers(const std::vector<ObserverEntry>& observers) {
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement put(db,
                       "INSERT INTO observers(observer_id, name, phone, created_at_ms) "
                       "VALUES (?, ?, ?, ?)");
    sql::Statement station(db, "SELECT 1 FROM stations WHERE code = ?");
    sql::Statement assign(db,
                          "INSERT INTO assignments(observer_id, station_code) VALUES (?, ?) "
                          "ON CONFLICT(observer_id, station_code) DO NOTHING");
    for (const ObserverEntry& o : observers) {
      if (o.id.empty() || o.id.size() > 64) {
        return Status::InvalidArgument("an observer id has 1-64 characters");
      }
      put.Reset();
      put.BindText(1, o.id).BindText(2, o.name).BindText(3, o.phone).Bind(4, NowMs());
      Status added = put.Run();
      if (added.code() == StatusCode::kAlreadyExists) {
        return Status::AlreadyExists("observer " + o.id + " already exists");
      }
      VIGIL_RETURN_IF_ERROR(added);
      for (const std::string& code : o.station_codes) {
        station.Reset();
        station.BindText(1, code);
        VIGIL_ASSIGN_OR_RETURN(bool known, station.Step());
        if (!known) return Status::NotFound("observer " + o.id + ": no station with code " + code);
        assign.Reset();
        assign.BindText(1, o.id).BindText(2, code);
        VIGIL_RETURN_IF_ERROR(assign.Run());
      }
    }
    return Status::Ok();
  });
}

Status SqlStore::AssignStations(const std::string& observer_id,
                                const std::vector<std::string>& station_codes,
                                const std::string& by) {
  if (by.empty()) return Status::InvalidArgument("say who you are (--by NAME)");
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement observer(db, "SELECT 1 FROM observers WHERE observer_id = ?");
    observer.BindText(1, observer_id);
    VIGIL_ASSIGN_OR_RETURN(bool known, observer.Step());
    if (!known) return Status::NotFound("no observer " + observer_id);
    sql::Statement station(db, "SELECT 1 FROM stations WHERE code = ?");
    sql::Statement assign(db,
                          "INSERT INTO assignments(observer_id, station_code) VALUES (?, ?) "
                          "ON CONFLICT(observer_id, station_code) DO NOTHING");
    for (const std::string& code : station_codes) {
      station.Reset();
      station.BindText(1, code);
      VIGIL_ASSIGN_OR_RETURN(bool exists, station.Step());
      if (!exists) return Status::NotFound("no station with code " + code);
      assign.Reset();
      assign.BindText(1, observer_id).BindText(2, code);
      VIGIL_RETURN_IF_ERROR(assign.Run());
      if (db.Changes() == 0) continue;
      VIGIL_RETURN_IF_ERROR(
          AppendAuditEntry(db, by, "observer.assign", observer_id, "", code, "station assigned"));
    }
    return Status::Ok();
  });
}

Result<std::vector<ObserverEntry>> SqlStore::ListObservers() {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(reader,
                      "SELECT o.observer_id, o.name, o.phone, a.station_code FROM observers o "
                      "LEFT JOIN assignments a ON a.observer_id = o.observer_id "
                      "ORDER BY o.observer_id, a.station_code");
  std::vector<ObserverEntry> out;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    std::string id = stmt.Text(0);
    if (out.empty() || out.back().id != id) out.push_back({id, stmt.Text(1), stmt.Text(2), {}});
    if (!stmt.IsNull(3)) out.back().station_codes.push_back(stmt.Text(3));
  }
  return out;
}

Status SqlStore::AddEnrollmentCodes(const std::vector<EnrollmentCodeEntry>& codes) {
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement observer(db, "SELECT 1 FROM observers WHERE observer_id = ?");
    sql::Statement put(db,
                       "INSERT INTO enrollment_codes(code_hash, observer_id, created_at_ms, "
                       "expires_at_ms) VALUES (?, ?, ?, ?)");
    for (const EnrollmentCodeEntry& c : codes) {
      observer.Reset();
      observer.BindText(1, c.observer_id);
      VIGIL_ASSIGN_OR_RETURN(bool known, observer.Step());
      if (!known) return Status::NotFound("no observer with id " + c.observer_id);
      put.Reset();
      put.BindBlob(1, c.code_hash)
          .BindText(2, c.observer_id)
          .Bind(3, NowMs())
          .Bind(4, c.expires_at_ms);
      VIGIL_RETURN_IF_ERROR(put.Run());
    }
    return Status::Ok();
  });
}

Result<v1::Broadcast> SqlStore::AddBroadcast(v1::Broadcast broadcast) {
  if (broadcast.broadcast_id().empty()) {
    VIGIL_ASSIGN_OR_RETURN(*broadcast.mutable_broadcast_id(), protocol::NewUuid());
  }
  if (broadcast.sent_at_ms() == 0) broadcast.set_sent_at_ms(NowMs());
  if (broadcast.ByteSizeLong() > 64 * 1024) {
    return Status::InvalidArgument("a broadcast is at most 64 KiB");
  }
  VIGIL_RETURN_IF_ERROR(RunSync([&](sql::Connection& db) -> Status {
    sql::Statement put(
        db,
        "INSERT INTO broadcasts(broadcast_id, message, publish_seq, sent_at_ms) "
        "VALUES (?, ?, (SELECT 1 + coalesce(max(seq), 0) FROM (SELECT max(publish_seq) AS seq "
        "FROM forms UNION ALL SELECT max(publish_seq) FROM broadcasts) AS published), ?)");
    put.BindText(1, broadcast.broadcast_id()).BindBlob(2, broadcast.SerializeAsString());
    put.Bind(3, broadcast.sent_at_ms());
    return put.Run();
  }));
  return broadcast;
}

Result<std::vector<DeviceRecord>> SqlStore::ListDevices() {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(reader, "SELECT device_id FROM devices ORDER BY enrolled_at_ms, device_id");
  std::vector<std::string> ids;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    ids.push_back(stmt.Text(0));
  }
  std::vector<DeviceRecord> devices;
  for (const std::string& id : ids) {
    VIGIL_ASSIGN_OR_RETURN(std::optional<DeviceRecord> device, FindDevice(id));
    if (device) devices.push_back(std::move(*device));
  }
  return devices;
}

Status SqlStore::RevokeDevice(const std::string& device_id, const std::string& reason,
                              const std::string& by) {
  if (by.empty()) return Status::InvalidArgument("say who revokes the device");
  if (reason.empty()) return Status::InvalidArgument("give a reason for revoking the device");
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement find(db, "SELECT status FROM devices WHERE device_id = ?");
    find.BindText(1, device_id);
    VIGIL_ASSIGN_OR_RETURN(bool known, find.Step());
    if (!known) return Status::NotFound("no device " + device_id);
    if (find.Text(0) == "revoked") {
      return Status::FailedPrecondition("device " + device_id + " is revoked already");
    }
    const int64_t now = NowMs();
    sql::Statement stmt(
        db,
        "UPDATE devices SET status = 'revoked', revoked_reason = ?, revoked_at_ms = ? "
        "WHERE device_id = ?");
    stmt.BindText(1, reason).Bind(2, now).BindText(3, device_id);
    VIGIL_RETURN_IF_ERROR(stmt.Run());
    return AppendAuditEntry(db, by, "device.revoke", device_id, "active", "revoked", reason, now);
  });
}

Result<v1::ServerStats> SqlStore::Stats() {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  v1::ServerStats stats;
  auto count = [&](const char* sql) -> Result<uint64_t> {
    sql::Statement stmt(reader, sql);
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    return row ? static_cast<uint64_t>(stmt.Int(0)) : 0;
  };
  {
    sql::Statement stmt(reader, "SELECT value FROM settings WHERE key = 'server_id'");
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) stats.set_server_id(stmt.Blob(0));
  }
  VIGIL_ASSIGN_OR_RETURN(uint64_t stations, count("SELECT count(*) FROM stations"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t observers, count("SELECT count(*) FROM observers"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t forms, count("SELECT count(*) FROM forms"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t devices, count("SELECT count(*) FROM devices"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t active,
                         count("SELECT count(*) FROM devices WHERE status = 'active'"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t batches, count("SELECT count(*) FROM batches"));
  // Held records (quarantine) are evidence, not reports: they are counted apart.
  VIGIL_ASSIGN_OR_RETURN(uint64_t held,
                         count("SELECT count(*) FROM quarantine WHERE released_at_ms IS NULL"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t records,
                         count("SELECT count(*) FROM records r WHERE NOT EXISTS (SELECT 1 FROM "
                               "quarantine q WHERE q.record_id = r.record_id AND "
                               "q.released_at_ms IS NULL)"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t submissions,
                         count("SELECT count(*) FROM records r WHERE kind = 'submission' AND NOT "
                               "EXISTS (SELECT 1 FROM quarantine q WHERE q.record_id = "
                               "r.record_id AND q.released_at_ms IS NULL)"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t equivocations, count("SELECT count(*) FROM equivocations"));
  stats.set_stations(stations);
  stats.set_observers(observers);
  stats.set_forms(forms);
  stats.set_devices(devices);
  stats.set_active_devices(active);
  stats.set_revoked_devices(devices - active);
  stats.set_batches(batches);
  stats.set_records(records);
  stats.set_submissions(submissions);
  stats.set_incidents(records - submissions);
  stats.set_equivocations(equivocations);
  stats.set_quarantined(held);
  sql::Statement reasons(
      reader,
      "SELECT reason, sum(n) FROM (SELECT reason, count AS n FROM rejections "
      "UNION ALL SELECT reason, count(*) FROM record_rejections GROUP BY reason) AS counts "
      "GROUP BY reason ORDER BY reason");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, reasons.Step());
    if (!row) break;
    v1::RejectionCount* r = stats.add_rejections();
    r->set_reason(reasons.Text(0));
    r->set_count(static_cast<uint64_t>(reasons.Int(1)));
  }
  return stats;
}

Status SqlStore::ForEachSubmission(const std::function<void(const SubmissionRow&)>& row) {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(reader,
                      "SELECT r.bytes, r.device_id, r.batch_seq, r.received_at_ms, d.observer_id "
                      "FROM records r JOIN batches b ON b.device_id = r.device_id AND "
                      "b.seq = r.batch_seq JOIN devices d ON d.device_id = r.device_id "
                      "WHERE r.kind = 'submission' AND NOT EXISTS (SELECT 1 FROM quarantine q "
                      "WHERE q.record_id = r.record_id AND q.released_at_ms IS NULL) "
                      "ORDER BY b.log_index, r.rowid");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool more, stmt.Step());
    if (!more) return Status::Ok();
    v1::Record record;
    if (!record.ParseFromString(stmt.Blob(0))) return Status::DataLoss("stored record unreadable");
    SubmissionRow out;
    out.submission = record.submission();
    out.device_id = stmt.Text(1);
    out.batch_seq = static_cast<uint64_t>(stmt.Int(2));
    out.received_at_ms = stmt.Int(3);
    // The enrolled observer, never the record's claim (docs/protocol.md §7).
    out.submission.set_observer_id(stmt.Text(4));
    row(out);
  }
}

}  // namespace vigil::syncd
