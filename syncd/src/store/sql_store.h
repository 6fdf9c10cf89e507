// The Store over SQL (docs/architecture.md §6), on either backend of store/sql.h: SQLite (one
// database file in WAL mode with synchronous=FULL; Open) or PostgreSQL (OpenPostgres).
//
// NOTES ON THE WRITER THREAD
//
//  1. Exactly one thread (the writer) owns the write connection. Every write, including the
//     admin commands of this process, is a Job queued to it; other processes (e.g. `syncd
//     admin` while `syncd serve` runs) write through their own writer and wait on SQLite's
//     busy timeout.
//  2. Group commit: the writer takes up to `max_group` queued jobs, opens one BEGIN IMMEDIATE
//     transaction, runs each job inside its own SAVEPOINT (a failing job rolls back only its
//     own changes), then COMMITs once. Only after that COMMIT returns does it call the jobs'
//     `finish` callbacks: nothing is acknowledged before it is durable. If the COMMIT fails,
//     every job of the group finishes with that failure and none of their effects remain.
//     So it is when a job's error rolled back the whole transaction (SQLITE_FULL, IOERR,
//     NOMEM): the rest of the group does not run, and every job finishes with that error.
//  3. The queue is bounded (`max_queue`); a full queue refuses with kUnavailable, which the
//     HTTP layer turns into 503 (retryable). Close() stops accepting jobs, drains the queue,
//     commits and joins the thread.
//  4. Readers use their own connections from a small pool and see only committed state.
//  5. A lost database connection (PostgreSQL restarted or failed over; sql::Connection::
//     Broken) is replaced before the next group: the writer connects again, at most once per
//     backoff (0.1 s doubling to 5 s), failing each group meanwhile with kUnavailable (a
//     retryable 503 for devices); statements prepared on the old connection are dropped, and
//     so are the pool's idle readers; a reader that broke is never put back in the pool. It says so
//     on stderr and in DatabaseUp / DatabaseReconnects (/metrics).
//  6. On PostgreSQL, several nodes write to one database. A transaction of the writer that
//     wrote anything (txid_current_if_assigned() is set; a job rolled back to its savepoint
//     may count) sends NOTIFY vigil_changes with this store's node id before its COMMIT, so
//     the notification goes out if and only if the transaction commits. Every store keeps one
//     listening connection (store/pg_listener.h); notifications of other nodes advance
//     ChangeCounter(), its own are ignored. SQLite has one writing process per data directory
//     and needs none of this.
//  7. The log order (schema 6). A group's jobs run first (chain checks, records, merge_latest,
//     alerts); then SealLog locks the `log_order` row (an UPDATE, held until the COMMIT),
//     runs the jobs' AtGroupEnd tasks (per-minute counts, masters, cases: rows that batches
//     of every node share), and hands out the accepted batches' log indexes in job order,
//     signing each receipt. On PostgreSQL, nodes therefore run their jobs in parallel but
//     their group ends one at a time: log indexes follow commit order with no gap or repeat,
//     and a master is recomputed after the previous node's group committed, so it misses no
//     node's submissions. A job's own row locks (its device, new records, its observer's
//     merge_latest row, conditional on superseding) are taken before the log order's and are
//     only contended when one device or observer pushes to two nodes at once; a deadlock
//     there is broken by PostgreSQL and answered with a retryable 503.
//  8. Round trips (PostgreSQL): the writer's inserts and updates are queued (Statement::Queue,
//     libpq's pipeline mode) and go out with the next read or the job's RELEASE; ingest reads
//     a batch's record ids and merge rows ahead in a statement or two (LedgerTx::ReadAhead).
//     A queued write's failure fails its job at the RELEASE at the latest, which then rolls
//     back to the job's savepoint as before.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "merge/master.h"
#include "records/record_checks.h"
#include "store/ledger_tx.h"
#include "store/sql.h"
#include "store/store.h"
#include "vigil/protocol/form_rules.h"

namespace vigil::syncd {

class PgListener;

// The schema version this code writes; a newer database is refused.
inline constexpr int kSchemaVersion = 6;

// Limits of the SQLite store.
struct SqlStoreOptions {
  size_t max_queue = 20000;     // Jobs waiting for the writer.
  size_t max_group = 512;       // Jobs per transaction.
  int busy_timeout_ms = 10000;  // Waiting for another process's write lock.
  size_t max_idle_readers = 8;  // Reader connections kept open.
  // Check every new record against its form and what the server knows of its sender, and
  // quarantine what fails (docs/protocol.md §8.5). Off only to measure its cost in
  // benchmarks: never in a deployment.
  bool validate = true;
  // Merge (masters, cases) in the transaction that stores records. Off only to measure its
  // cost (`syncd serve --no-merge`); records stored without it are not merged later.
  bool merge = true;
  // Largest size of the database file this store's writer grows it to, in bytes (SQLite's
  // max_page_count); 0: no limit. Writes beyond it fail with kResourceExhausted, as on a full
  // disk (`syncd serve --max-db-mb`). Never below the file's current size.
  int64_t max_db_bytes = 0;
};

// Opens a new connection to the store's database (a reader, or the writer).
using ConnectionFactory = std::function<Result<std::unique_ptr<sql::Connection>>()>;

class SqlStore final : public Store {
 public:
  // Opens `path`; with `create`, creates the file and migrates the schema to kSchemaVersion.
  // Fails with kUnimplemented when the database's schema is newer than this code.
  static Result<std::unique_ptr<SqlStore>> Open(const std::string& path, bool create,
                                                SqlStoreOptions options = {});
  // Opens the PostgreSQL database at `url` (pg_store_open.cc); with `create`, creates the schema.
  static Result<std::unique_ptr<SqlStore>> OpenPostgres(const std::string& url, bool create,
                                                        SqlStoreOptions options = {});
  ~SqlStore() override;

  Result<std::string> GetSetting(const std::string& key) override;
  Status InitSetting(const std::string& key, const std::string& value) override;
  Status PutSetting(const std::string& key, const std::string& value) override;
  Result<std::optional<DeviceRecord>> FindDevice(const std::string& device_id) override;
  Result<std::optional<std::pair<std::string, std::string>>> FindBatchResponse(
      const std::string& device_id, uint64_t seq) override;
  void WriteLedger(std::function<Status(LedgerTx&)> run,
                   std::function<void(Status)> finish) override;
  Status RunLedger(std::function<Status(LedgerTx&)> run) override;
  void Enroll(EnrollParams params, std::function<void(Result<v1::EnrollResponse>)> done) override;
  void Pull(PullParams params, std::function<void(Result<v1::PullResponse>)> done) override;
  void CountRejection(const std::string& reason) override;
  Status ImportStations(const std::vector<v1::Station>& stations) override;
  Status PublishForm(const v1::FormDefinition& form) override;
  Status AddObservers(const std::vector<ObserverEntry>& observers) override;
  Status AssignStations(const std::string& observer_id,
                        const std::vector<std::string>& station_codes,
                        const std::string& by) override;
  Result<std::vector<ObserverEntry>> ListObservers() override;
  Status AddEnrollmentCodes(const std::vector<EnrollmentCodeEntry>& codes) override;
  Result<v1::Broadcast> AddBroadcast(v1::Broadcast broadcast) override;
  Result<std::vector<DeviceRecord>> ListDevices() override;
  Status RevokeDevice(const std::string& device_id, const std::string& reason,
                      const std::string& by) override;
  Result<v1::ServerStats> Stats() override;
  Status ForEachSubmission(const std::function<void(const SubmissionRow&)>& row) override;
  Result<v1::MasterRecord> SetOverride(const OverrideRequest& request) override;
  Result<v1::Case> SetCaseStatus(const std::string& case_id, v1::CaseStatus status,
                                 const std::string& by, const std::string& reason) override;
  Result<v1::CoverageReport> Coverage(const CoverageQuery& query) override;
  Result<v1::ConflictList> Conflicts() override;
  Result<v1::CaseList> Cases(v1::CaseStatus status) override;
  Result<v1::AuditLog> Audit() override;
  Status ForEachMaster(const std::function<void(const v1::MasterRecord&)>& row) override;
  Status AddCoordinator(const CoordinatorRecord& coordinator) override;
  Result<std::optional<CoordinatorRecord>> FindCoordinator(const std::string& name) override;
  Result<v1::CoordinatorList> ListCoordinators() override;
  Status SetCoordinatorDisabled(const std::string& name, bool disabled) override;
  Status LogCoordinatorAction(const v1::AuditEntry& entry) override;
  Status AddSession(const CoordinatorSession& session, const SessionPruning& pruning) override;
  Result<std::optional<CoordinatorSession>> FindSession(const std::string& token_hash) override;
  Status TouchSession(const std::string& token_hash, int64_t used_ms) override;
  Status RemoveSession(const std::string& token_hash) override;
  Status RemoveSessionsOf(const std::string& name) override;
  void RecordAlert(const std::string& kind, const std::string& device_id,
                   const std::string& detail) override;
  Result<v1::Overview> Overview(int64_t silent_after_ms) override;
  Result<v1::CoveragePage> CoverageDrill(const CoverageDrillQuery& query) override;
  Result<v1::StationDetail> StationDetail(const std::string& station_code) override;
  Result<v1::FormCatalog> FormCatalog() override;
  Result<v1::CasePage> CasePage(const CaseQuery& query) override;
  Result<v1::CaseDetail> CaseDetail(const std::string& case_id) override;
  Result<v1::DevicePage> DevicePage(const DeviceQuery& query) override;
  Result<v1::DeviceRow> DeviceRow(const std::string& device_id) override;
  Result<v1::AlertPage> AlertPage(const std::string& kind, PageRequest page) override;
  Result<v1::QuarantinePage> QuarantinePage(bool released, PageRequest page) override;
  uint64_t ChangeCounter() const override { return transactions_.load() + remote_changes_.load(); }
  size_t WriterQueueDepth() const override;
  bool DatabaseUp() const override { return database_up_.load(); }
  uint64_t DatabaseReconnects() const override { return reconnects_.load(); }
  void Close() override;

  // Transactions the writer has committed (for tests of group commit).
  uint64_t transactions_committed() const { return transactions_.load(); }

  // Changes SqlStoreOptions::max_db_bytes while the store runs (0: no limit); returns the
  // limit now in force, in bytes (sqlite_maintenance.cc).
  Result<int64_t> SetMaxDbBytes(int64_t bytes);
  // Empties every table merge derives (merge_latest, masters, conflicts, qa_flags, cases,
  // case_members) and recomputes them from the stored records, in one transaction. For
  // `syncd admin verify`, which runs it on a copy of the store (sqlite_maintenance.cc).
  Status RebuildMerge();

 private:
  // One unit of work for the writer. `run` executes inside the group's transaction (in its
  // own savepoint); `finish` gets run's status, or the COMMIT's failure, after the COMMIT.
  struct Job {
    std::function<Status(sql::Connection&)> run;
    std::function<void(Status)> finish;
  };
  // A reader connection borrowed from the pool; returned to it when destroyed.
  class Reader {
   public:
    Reader(SqlStore& store, std::unique_ptr<sql::Connection> conn)
        : store_(&store), conn_(std::move(conn)) {}
    Reader(Reader&& other) noexcept = default;
    Reader& operator=(Reader&&) = delete;
    Reader(const Reader&) = delete;
    ~Reader() {
      if (conn_) store_->ReleaseReader(std::move(conn_));
    }
    sql::Connection& get() const { return *conn_; }
    operator sql::Connection&() const { return *conn_; }  // NOLINT(google-explicit-constructor)

   private:
    SqlStore* store_;
    std::unique_ptr<sql::Connection> conn_;
  };

  // `node_id` (PostgreSQL only, else empty): the payload of this store's NOTIFYs (note 6).
  SqlStore(ConnectionFactory connect, std::unique_ptr<sql::Connection> writer,
           SqlStoreOptions options, std::string node_id = "");
  // Queues a job; false (and `finish` is not called) when closed or full.
  Status Submit(Job job, bool droppable = false);
  // Queues `run` and waits for its commit.
  Status RunSync(std::function<Status(sql::Connection&)> run);
  void WriterLoop();
  // Whether the writer has a live connection, connecting again when the old one broke and the
  // backoff allows (note 5). Writer thread only.
  bool EnsureWriter();
  // A reader connection from the pool, or a new one.
  Result<Reader> Read();
  void ReleaseReader(std::unique_ptr<sql::Connection> db);

  // Bodies of the device-facing jobs (sqlite_device_ops.cc).
  Status EnrollInTransaction(sql::Connection& db, const EnrollParams& params,
                             v1::EnrollResponse& response);
  Status FillEnrollResponse(sql::Connection& db, const EnrollParams& params,
                            const std::string& device_id, const std::string& observer_id,
                            v1::EnrollResponse& response);
  Status PullInTransaction(sql::Connection& db, const PullParams& params,
                           v1::PullResponse& response);

  // The repository ingest works through (store/ledger_tx.h, sql_ledger_tx.cc).
  class LedgerTxImpl;
  friend class LedgerTxImpl;
  // merge_latest rows of one observer at some stations, read ahead for a batch
  // (LedgerTx::ReadAhead): stations read, and (station, form) → (submission id, finalized at).
  struct LatestAhead {
    std::string observer_id;
    std::set<std::string> stations;
    std::map<std::pair<std::string, std::string>, std::pair<std::string, int64_t>> rows;
  };
  // Lookups for it (sqlite_record_ops.cc, sqlite_quarantine.cc); writer thread only.
  Result<SenderFacts> LoadSenderFacts(sql::Connection& db, const std::string& observer_id,
                                      const std::string& station_code);
  // RecordAllowanceBytes of a compiled form, computed once. Writer thread only.
  size_t AllowanceOf(const protocol::Form& form);
  // The quarantine reason of a record still held, nullopt otherwise.
  Result<std::optional<std::string>> HeldReason(sql::Connection& db, const std::string& record_id);
  // A quarantined record with its bytes; NotFound when never quarantined.
  Result<HeldRecord> LoadHeld(sql::Connection& db, const std::string& record_id);
  // The device's held records with their reasons, for its pull (sqlite_quarantine.cc).
  Status AddHeldRecords(sql::Connection& db, const std::string& device_id,
                        v1::PullResponse& response);

  // Writer-side merge (sqlite_merge_ops.cc); each runs inside the writer's transaction.
  // A stored submission: its QA flags and the observer's latest; adds the (station, form) to
  // `dirty` when that changed. `ahead` (may be null) holds merge_latest rows read ahead for
  // the batch and is kept up to date.
  Status MergeSubmission(sql::Connection& db, const v1::Submission& submission,
                         const std::string& device_id, const std::string& observer_id,
                         DirtyMasters& dirty, LatestAhead* ahead = nullptr);
  // Where `station_code` is and the deployment's M9 distance (merge/master.h); nullopt when
  // the station has no coordinates.
  Result<std::optional<merge::StationPlace>> StationPlaceOf(sql::Connection& db,
                                                            const std::string& station_code);
  // Recomputes and stores the master of (station, form) from merge_latest and overrides.
  Result<v1::MasterRecord> RecomputeMaster(sql::Connection& db, const std::string& station_code,
                                           const std::string& form_id);
  // Re-clusters every incident at a station, keeping case statuses by case id.
  Status RecomputeCases(sql::Connection& db, const std::string& station_code);
  // Merges every stored record (after migrating a store from before merge existed).
  Status ReplayMerge(sql::Connection& db);
  // Incident statuses of the reports of a device, for its pull.
  Status AddIncidentStatuses(sql::Connection& db, const std::string& device_id,
                             v1::PullResponse& response);
  // The compiled form (form_id, version), nullptr when not published. Writer thread only.
  Result<const protocol::Form*> CompiledForm(sql::Connection& db, const std::string& form_id,
                                             uint32_t version);
  // Deletes every session of coordinator `name` (coordinator_sessions.cc); writer thread only.
  static Status DeleteSessionsOf(sql::Connection& db, const std::string& name);
  // A statement on the writer connection, prepared once and reset. Writer thread only.
  sql::Statement& Cached(sql::Connection& db, const char* sql);
  // An accepted batch waiting for its log index (LedgerTx::AppendToLog).
  struct PendingLogEntry {
    BatchRow row;
    LedgerTx::LogSealer seal;
  };
  // At the end of a group: takes the log order's row, runs the group's AtGroupEnd tasks,
  // hands out the pending batches' log indexes in order, seals and stores them (note 7;
  // sql_ledger_tx.cc).
  Status SealLog(sql::Connection& db);

  const ConnectionFactory connect_;
  const SqlStoreOptions options_;
  std::unique_ptr<sql::Connection> writer_db_;  // Used only by the writer thread.
  // Writer thread only; declared after writer_db_ so they are destroyed before it closes.
  std::map<const char*, std::unique_ptr<sql::Statement>> writer_statements_;
  std::map<std::pair<std::string, uint32_t>, std::unique_ptr<protocol::Form>> forms_;
  std::map<const protocol::Form*, size_t> allowances_;         // Keyed by forms_' entries.
  std::vector<PendingLogEntry> pending_log_;                   // Of the group being written.
  std::vector<std::function<Status(LedgerTx&)>> group_tasks_;  // LedgerTx::AtGroupEnd.
  std::thread writer_;
  std::atomic<uint64_t> transactions_{0};
  std::atomic<bool> database_up_{true};
  std::atomic<uint64_t> reconnects_{0};
  // Writer thread only (note 5).
  int64_t next_connect_ms_ = 0;
  int64_t connect_backoff_ms_ = 100;
  int64_t down_since_ms_ = 0;
  // Note 6 (PostgreSQL only): this store's id, the writer's NOTIFY statement (empty on
  // SQLite), the changes other nodes announced, and the connection that hears them.
  const std::string node_id_;
  const std::string notify_sql_;
  std::atomic<uint64_t> remote_changes_{0};
  std::unique_ptr<PgListener> listener_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // GUARDED_BY(mu_)
  bool closing_ = false;   // GUARDED_BY(mu_)

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<sql::Connection>> idle_readers_;  // GUARDED_BY(readers_mu_)
};

// Migrates `db` to kSchemaVersion inside one transaction (sqlite_schema.cc).
Status MigrateSchema(sql::Connection& db);

// The schema version stored in `db` (PRAGMA user_version).
Result<int> SchemaVersion(sql::Connection& db);

}  // namespace vigil::syncd
