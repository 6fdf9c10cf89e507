// The device ledger's repository (store/ledger_tx.h) over the portable SQL layer: the rows
// ingest reads and writes inside the writer's transaction. Statements are prepared once per
// writer connection (SqlStore::Cached).
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/ledger_tx.h"
#include "store/sql_store.h"
#include "store/sqlite_chain_ops.h"
#include "store/sqlite_rows.h"

namespace vigil::syncd {

class SqlStore::LedgerTxImpl final : public LedgerTx {
 public:
  LedgerTxImpl(SqlStore& store, sql::Connection& db) : store_(store), db_(db) {}

  Result<std::optional<DeviceHead>> LockDevice(const std::string& device_id) override {
    // Devices are locked here, during the jobs; the log order's row only at the group's end
    // (sql_store.h note 7): no transaction holds it while it waits for a device.
    sql::Statement device(db_, std::string("SELECT status, last_seq, last_hash, observer_id "
                                           "FROM devices WHERE device_id = ?") +
                                   std::string(sql::ForUpdate(db_)));
    device.BindText(1, device_id);
    VIGIL_ASSIGN_OR_RETURN(bool found, device.Step());
    if (!found) return std::optional<DeviceHead>();
    DeviceHead head;
    head.active = device.Text(0) == "active";
    head.last_seq = static_cast<uint64_t>(device.Int(1));
    head.last_hash = device.Blob(2);
    head.observer_id = device.Text(3);
    return std::optional<DeviceHead>(std::move(head));
  }

  Result<std::optional<StoredBatch>> FindBatch(const std::string& device_id,
                                               uint64_t seq) override {
    for (const PendingLogEntry& pending : store_.pending_log_) {
      if (pending.row.device_id == device_id && pending.row.seq == seq) {
        return std::optional<StoredBatch>(StoredBatch{pending.row.hash, "", false});
      }
    }
    sql::Statement stored(db_,
                          "SELECT hash, response FROM batches WHERE device_id = ? AND seq = ?");
    stored.BindText(1, device_id).Bind(2, static_cast<int64_t>(seq));
    VIGIL_ASSIGN_OR_RETURN(bool row, stored.Step());
    if (!row) return std::optional<StoredBatch>();
    return std::optional<StoredBatch>(StoredBatch{stored.Blob(0), stored.Blob(1)});
  }

  Result<bool> InChainGap(const std::string& device_id, uint64_t seq) override {
    return syncd::InChainGap(db_, device_id, seq);
  }

  Result<bool> KeepEquivocation(const BatchRow& batch) override {
    sql::Statement keep(db_,
                        "INSERT INTO equivocations(device_id, seq, hash, bytes, signature, "
                        "received_at_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
    keep.BindText(1, batch.device_id).Bind(2, static_cast<int64_t>(batch.seq));
    keep.BindBlob(3, batch.hash).BindBlob(4, batch.bytes);
    keep.BindBlob(5, batch.signature).Bind(6, batch.received_at_ms);
    VIGIL_RETURN_IF_ERROR(keep.Run());
    return db_.Changes() != 0;
  }

  Status AppendToLog(BatchRow row, LogSealer seal) override {
    store_.pending_log_.push_back({std::move(row), std::move(seal)});
    return Status::Ok();
  }

  Status AtGroupEnd(std::function<Status(LedgerTx&)> task) override {
    store_.group_tasks_.push_back(std::move(task));
    return Status::Ok();
  }

  Status AdvanceHead(const std::string& device_id, uint64_t seq, const std::string& hash,
                     int64_t now_ms) override {
    sql::Statement advance(db_,
                           "UPDATE devices SET last_seq = ?, last_hash = ?, last_seen_ms = ? "
                           "WHERE device_id = ?");
    advance.Bind(1, static_cast<int64_t>(seq)).BindBlob(2, hash);
    advance.Bind(3, now_ms).BindText(4, device_id);
    return advance.Queue();
  }

  Result<const protocol::Form*> CompiledForm(const std::string& form_id,
                                             uint32_t version) override {
    return store_.CompiledForm(db_, form_id, version);
  }

  Result<bool> FormPublished(const std::string& form_id, uint32_t version) override {
    sql::Statement& known =
        store_.Cached(db_, "SELECT 1 FROM forms WHERE form_id = ? AND version = ?");
    known.Reset();
    known.BindText(1, form_id).Bind(2, version);
    VIGIL_ASSIGN_OR_RETURN(bool found, known.Step());
    known.Reset();
    return found;
  }

  size_t AllowanceOf(const protocol::Form& form) override { return store_.AllowanceOf(form); }

  Status ReadAhead(const std::vector<std::string>& record_ids, const std::string& observer_id,
                   const std::set<std::string>& stations) override {
    for (size_t at = 0; at < record_ids.size(); at += kAheadChunk) {
      sql::Statement& stored = store_.Cached(db_, RecordsAheadSql().c_str());
      stored.Reset();
      const size_t end = std::min(record_ids.size(), at + kAheadChunk);
      for (size_t i = at; i < end; ++i) {
        stored.BindText(static_cast<int>(i - at + 1), record_ids[i]);
        content_hashes_.emplace(record_ids[i], std::nullopt);
      }
      while (true) {
        VIGIL_ASSIGN_OR_RETURN(bool row, stored.Step());
        if (!row) break;
        content_hashes_[stored.Text(0)] = stored.Blob(1);
      }
      stored.Reset();
    }
    latest_.observer_id = observer_id;
    const std::vector<std::string> codes(stations.begin(), stations.end());
    for (size_t at = 0; at < codes.size(); at += kAheadChunk) {
      sql::Statement& latest = store_.Cached(db_, LatestAheadSql().c_str());
      latest.Reset();
      latest.BindText(1, observer_id);
      const size_t end = std::min(codes.size(), at + kAheadChunk);
      for (size_t i = at; i < end; ++i) {
        latest.BindText(static_cast<int>(i - at + 2), codes[i]);
        latest_.stations.insert(codes[i]);
      }
      while (true) {
        VIGIL_ASSIGN_OR_RETURN(bool row, latest.Step());
        if (!row) break;
        latest_.rows[{latest.Text(0), latest.Text(1)}] = {latest.Text(2), latest.Int(3)};
      }
      latest.Reset();
    }
    return Status::Ok();
  }

  Result<std::optional<std::string>> StoredContentHash(const std::string& record_id) override {
    auto known = content_hashes_.find(record_id);
    if (known != content_hashes_.end()) return known->second;
    sql::Statement& stored =
        store_.Cached(db_, "SELECT content_hash FROM records WHERE record_id = ?");
    stored.Reset();
    stored.BindText(1, record_id);
    VIGIL_ASSIGN_OR_RETURN(bool exists, stored.Step());
    std::optional<std::string> previous;
    if (exists) previous = stored.Blob(0);
    stored.Reset();
    return previous;
  }

  Result<std::optional<std::string>> HeldReason(const std::string& record_id) override {
    return store_.HeldReason(db_, record_id);
  }

  Result<SenderFacts> LoadSenderFacts(const std::string& observer_id,
                                      const std::string& station_code) override {
    return store_.LoadSenderFacts(db_, observer_id, station_code);
  }

  Status InsertRecord(const RecordRow& record) override {
    sql::Statement& insert =
        store_.Cached(db_,
                      "INSERT INTO records(record_id, kind, device_id, batch_seq, "
                      "content_hash, bytes, station_code, form_id, form_version, "
                      "observer_id, received_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.Reset();
    insert.BindText(1, record.record_id).BindText(2, record.kind);
    insert.BindText(3, record.device_id).Bind(4, static_cast<int64_t>(record.batch_seq));
    insert.BindBlob(5, record.content_hash).BindBlob(6, record.bytes);
    insert.BindText(7, record.station_code).BindText(8, record.form_id);
    insert.Bind(9, record.form_version).BindText(10, record.observer_id);
    insert.Bind(11, record.received_at_ms);
    VIGIL_RETURN_IF_ERROR(insert.Queue());
    content_hashes_[record.record_id] = record.content_hash;
    return Status::Ok();
  }

  Status Quarantine(const std::string& record_id, const std::string& reason,
                    const std::string& claimed_observer_id, int64_t now_ms) override {
    sql::Statement& hold = store_.Cached(db_,
                                         "INSERT INTO quarantine(record_id, reason, "
                                         "claimed_observer_id, quarantined_at_ms) "
                                         "VALUES (?, ?, ?, ?)");
    hold.Reset();
    hold.BindText(1, record_id).BindText(2, reason);
    hold.BindText(3, claimed_observer_id).Bind(4, now_ms);
    return hold.Queue();
  }

  Status InsertRejection(const std::string& record_id, const std::string& device_id,
                         uint64_t batch_seq, const std::string& reason,
                         const std::string& content_hash, int64_t now_ms) override {
    sql::Statement& reject =
        store_.Cached(db_,
                      "INSERT INTO record_rejections(record_id, device_id, batch_seq, "
                      "reason, content_hash, received_at_ms) VALUES (?, ?, ?, ?, ?, ?)");
    reject.Reset();
    reject.BindText(1, record_id).BindText(2, device_id);
    reject.Bind(3, static_cast<int64_t>(batch_seq)).BindText(4, reason);
    reject.BindBlob(5, content_hash).Bind(6, now_ms);
    return reject.Queue();
  }

  Status CountMinute(int64_t minute, const std::string& kind, int64_t n) override {
    sql::Statement& per_minute =
        store_.Cached(db_,
                      "INSERT INTO minute_counts(minute, kind, count) VALUES (?, ?, ?) "
                      "ON CONFLICT(minute, kind) DO UPDATE SET count = minute_counts.count + "
                      "excluded.count");
    per_minute.Reset();
    per_minute.Bind(1, minute).BindText(2, kind).Bind(3, n);
    return per_minute.Queue();
  }

  Result<HeldRecord> LoadHeld(const std::string& record_id) override {
    return store_.LoadHeld(db_, record_id);
  }

  Status MarkReleased(const std::string& record_id, const std::string& by,
                      const std::string& reason, int64_t now_ms) override {
    sql::Statement release(db_,
                           "UPDATE quarantine SET released_at_ms = ?, released_by = ?, "
                           "release_reason = ? WHERE record_id = ? AND released_at_ms IS NULL");
    release.Bind(1, now_ms).BindText(2, by).BindText(3, reason).BindText(4, record_id);
    VIGIL_RETURN_IF_ERROR(release.Run());
    if (db_.Changes() != 1) return Status::Aborted("quarantine row changed meanwhile");
    return Status::Ok();
  }

  Status RaiseAlert(const std::string& kind, const std::string& device_id,
                    const std::string& detail, int64_t now_ms) override {
    return syncd::RaiseAlert(db_, kind, device_id, detail, now_ms);
  }

  Status Audit(const std::string& actor, const std::string& action, const std::string& target,
               const std::string& before, const std::string& after, const std::string& reason,
               int64_t now_ms) override {
    return AppendAuditEntry(db_, actor, action, target, before, after, reason, now_ms);
  }

  bool merge_enabled() const override { return store_.options_.merge; }
  bool validate_enabled() const override { return store_.options_.validate; }

  Status MergeSubmission(const v1::Submission& submission, const std::string& device_id,
                         const std::string& observer_id, DirtyMasters& dirty) override {
    return store_.MergeSubmission(db_, submission, device_id, observer_id, dirty, &latest_);
  }

  Status RecomputeMaster(const std::string& station_code, const std::string& form_id) override {
    return store_.RecomputeMaster(db_, station_code, form_id).status();
  }

  Status RecomputeCases(const std::string& station_code) override {
    return store_.RecomputeCases(db_, station_code);
  }

 private:
  // Ids per read-ahead statement (unbound places are NULL and match nothing).
  static constexpr size_t kAheadChunk = 64;
  // "?first, ?first+1, …", kAheadChunk places.
  static std::string Places(int first) {
    std::string places;
    for (size_t i = 0; i < kAheadChunk; ++i) {
      places += (i == 0 ? "?" : ", ?") + std::to_string(first + static_cast<int>(i));
    }
    return places;
  }
  static const std::string& RecordsAheadSql() {
    static const std::string sql =
        "SELECT record_id, content_hash FROM records WHERE record_id IN (" + Places(1) + ")";
    return sql;
  }
  static const std::string& LatestAheadSql() {
    static const std::string sql =
        "SELECT station_code, form_id, submission_id, finalized_at_ms FROM merge_latest "
        "WHERE observer_id = ?1 AND station_code IN (" +
        Places(2) + ")";
    return sql;
  }

  SqlStore& store_;
  sql::Connection& db_;
  // What this transaction knows of records' content hashes (nullopt: not stored), read ahead
  // or written by it.
  std::map<std::string, std::optional<std::string>> content_hashes_;
  SqlStore::LatestAhead latest_;  // merge_latest rows read ahead (MergeSubmission).
};

Status SqlStore::SealLog(sql::Connection& db) {
  std::vector<PendingLogEntry> entries = std::move(pending_log_);
  pending_log_.clear();
  std::vector<std::function<Status(LedgerTx&)>> tasks = std::move(group_tasks_);
  group_tasks_.clear();
  if (entries.empty() && tasks.empty()) return Status::Ok();
  // The log order's row, locked until the COMMIT (note 7): by the UPDATE that hands out the
  // indexes, or, with none to hand out, by a read for update (it only ever moves forward).
  const auto count = static_cast<int64_t>(entries.size());
  const char* lock_only = db.backend() == sql::Backend::kPostgres
                              ? "SELECT next_index FROM log_order WHERE id = 1 FOR UPDATE"
                              : "SELECT next_index FROM log_order WHERE id = 1";
  sql::Statement& take =
      count > 0 ? Cached(db,
                         "UPDATE log_order SET next_index = next_index + ?1 WHERE id = 1 "
                         "RETURNING next_index - ?1")
                : Cached(db, lock_only);
  if (count > 0) take.Bind(1, count);
  VIGIL_ASSIGN_OR_RETURN(bool row, take.Step());
  if (!row) return Status::Internal("the store has no log order row");
  const auto first = static_cast<uint64_t>(take.Int(0));
  take.Reset();
  LedgerTxImpl end(*this, db);
  for (const auto& task : tasks) {
    // Each task alone: one station's master that cannot be recomputed (a record or setting
    // that does not read) must not refuse the other batches of the group. Its batch stays
    // accepted and stored; the failure goes to the log. A lost database fails the group.
    VIGIL_RETURN_IF_ERROR(Cached(db, "SAVEPOINT task").Queue());
    Status done = task(end);
    if (done.ok()) done = Cached(db, "RELEASE task").Run();
    if (done.ok()) continue;
    if (done.code() == StatusCode::kUnavailable || done.code() == StatusCode::kAborted ||
        done.code() == StatusCode::kResourceExhausted) {
      return done;
    }
    VIGIL_RETURN_IF_ERROR(db.Exec("ROLLBACK TO task; RELEASE task"));
    std::fprintf(stderr, "syncd: merge: a master or case recomputation failed: %s\n",
                 done.message().c_str());
  }
  sql::Statement& insert = Cached(db,
                                  "INSERT INTO batches(device_id, seq, hash, bytes, signature, "
                                  "received_at_ms, log_index, record_count, receipt, response) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  for (size_t i = 0; i < entries.size(); ++i) {
    BatchRow& batch = entries[i].row;
    VIGIL_RETURN_IF_ERROR(entries[i].seal(first + i, batch));
    insert.Reset();
    insert.BindText(1, batch.device_id).Bind(2, static_cast<int64_t>(batch.seq));
    insert.BindBlob(3, batch.hash).BindBlob(4, batch.bytes);
    insert.BindBlob(5, batch.signature).Bind(6, batch.received_at_ms);
    insert.Bind(7, static_cast<int64_t>(batch.log_index)).Bind(8, batch.record_count);
    insert.BindBlob(9, batch.receipt).BindBlob(10, batch.response);
    VIGIL_RETURN_IF_ERROR(insert.Queue());
  }
  return Status::Ok();
}

void SqlStore::WriteLedger(std::function<Status(LedgerTx&)> run,
                           std::function<void(Status)> finish) {
  auto shared_finish = std::make_shared<std::function<void(Status)>>(std::move(finish));
  Status queued = Submit(Job{[this, run = std::move(run)](sql::Connection& db) {
                               LedgerTxImpl tx(*this, db);
                               return run(tx);
                             },
                             [shared_finish](const Status& status) { (*shared_finish)(status); }});
  if (!queued.ok()) (*shared_finish)(queued);
}

Status SqlStore::RunLedger(std::function<Status(LedgerTx&)> run) {
  return RunSync([this, &run](sql::Connection& db) {
    LedgerTxImpl tx(*this, db);
    return run(tx);
  });
}

}  // namespace vigil::syncd
