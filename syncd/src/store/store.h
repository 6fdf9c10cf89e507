// The Store interface (docs/architecture.md §6): everything syncd keeps. Backends: SQLite (here);
// PostgreSQL later, behind the same interface and the same test suite.
//
// Writes that answer a device (AppendBatch, Enroll, Pull) are asynchronous: the callback
// runs on the store's writer thread only after the transaction holding the write has
// committed (durable before acknowledged), or with a failure. Callbacks must be quick and
// must not call back into the store synchronously.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/ledger_tx.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/status.h"
#include "vigil/v1/admin.pb.h"
#include "vigil/v1/dashboard.pb.h"
#include "vigil/v1/forms.pb.h"
#include "vigil/v1/merge.pb.h"
#include "vigil/v1/records.pb.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::syncd {

// An enrolled device as stored.
struct DeviceRecord {
  std::string device_id;
  std::string public_key;  // Ed25519, 32 raw bytes.
  std::string observer_id;
  bool active = true;
  std::string revoked_reason;
  uint64_t last_seq = 0;
  std::string last_hash;  // SHA-256 of batch last_seq; empty when last_seq == 0.
  int64_t last_seen_ms = 0;
  int64_t clock_offset_ms = 0;
  uint32_t pending_records = 0;
  int64_t enrolled_at_ms = 0;
};

// A push that passed every check which needs no lock on the device's chain (size, decode,
// device, rate, signature). The payload is decoded too, but its failure only counts once the
// sequence rules accept the batch (docs/architecture.md §4 step 5 order).
struct VerifiedBatch {
  std::string device_id;
  uint64_t seq = 0;
  std::string prev_hash;
  std::string batch_hash;  // SHA-256 of batch_bytes.
  std::string batch_bytes;
  std::string signature;
  Status payload_status;       // Failure of protocol::DecodePayload, if any.
  v1::RecordList records;      // Valid when payload_status is OK.
  uint64_t payload_bytes = 0;  // Size of the decoded RecordList (Batch.uncompressed_size).
  int64_t device_time_ms = 0;
};

// What the writer decided for a batch, under the device's lock.
struct AppendOutcome {
  protocol::SequenceVerdict verdict = protocol::SequenceVerdict::kAccept;
  uint64_t expected_seq = 0;  // For kGap / kChainMismatch: the seq to send next.
  // kAccept with a payload that did not decode (or, kResourceExhausted, that decodes to more
  // than its records' forms allow): nothing stored.
  Status payload_status;
  std::string response_bytes;        // kAccept / kReplay: the serialized PushResponse.
  uint32_t records_stored = 0;       // kAccept: records newly stored (quarantined ones too).
  uint32_t records_quarantined = 0;  // kAccept: of those, held in quarantine.
  std::vector<std::string> record_rejections;  // kAccept: reasons of rejected records.
};

// A checked enrollment request.
struct EnrollParams {
  std::string code;
  std::string public_key;
  v1::DeviceInfo device_info;
  std::string server_id;
  std::string receipt_public_key;
};

// A pull whose signature verified.
struct PullParams {
  std::string device_id;
  v1::Pull pull;
};

// One stored checklist submission, for CSV export.
struct SubmissionRow {
  v1::Submission submission;
  std::string device_id;
  uint64_t batch_seq = 0;
  int64_t received_at_ms = 0;
};

// An observer with assigned stations, as imported and listed by coordinators.
struct ObserverEntry {
  std::string id;
  std::string name;
  std::string phone;
  std::vector<std::string> station_codes;
};

// An enrollment code to store: only its SHA-256 is kept.
struct EnrollmentCodeEntry {
  std::string code_hash;
  std::string observer_id;
  int64_t expires_at_ms = 0;
};

// A coordinator's change to one field of a master record.
struct OverrideRequest {
  std::string station_code;
  std::string form_id;
  std::string question_id;
  std::optional<std::string> value_text;  // As typed (merge::ValueFromText); nullopt removes.
  std::string by;
  std::string reason;
};

// A coordinator as stored: the password only as its scrypt hash (dashboard/password.h).
struct CoordinatorRecord {
  std::string name;
  v1::CoordinatorRole role = v1::ROLE_VIEWER;
  std::string password_hash;
  int64_t created_at_ms = 0;
  bool disabled = false;
};

// One page of a list: `page` is 1-based.
struct PageRequest {
  uint32_t page = 1;
  uint32_t page_size = 50;
};

// The dashboard's coverage drill-down (docs/dashboard.md).
struct CoverageDrillQuery {
  std::string form_id;                      // Required.
  std::string level = "province";           // "province" | "district" | "commune" | "station"
  std::string province, district, commune;  // The parent area; "" above it.
  v1::CoverageStatus status = v1::COVERAGE_STATUS_UNSPECIFIED;  // Stations only.
  std::string prefix;  // Stations only: code or name starts with it.
  PageRequest page;
};

// The dashboard's case list filters.
struct CaseQuery {
  std::vector<v1::CaseStatus> statuses;  // Empty: all.
  std::string category, province, severity;
  PageRequest page;
};

// The dashboard's device list filters.
struct DeviceQuery {
  std::string status;  // "" | "active" | "revoked"
  std::string text;    // Device id, observer id or name, or station code containing it.
  PageRequest page;
};

// What `syncd admin coverage` asks for.
struct CoverageQuery {
  std::string form_id;             // "" for every checklist form.
  std::string level = "province";  // "nation" | "province" | "district" | "commune"
  int64_t silent_after_ms = 2 * 3600 * 1000;
  bool list_silent = true;  // false: leave silent_observers empty (the dashboard counts them).
};

// Milliseconds since the Unix epoch.
int64_t NowMs();

// Everything syncd keeps. Every method is thread-safe.
class Store {
 public:
  virtual ~Store() = default;

  // ----- settings
  // The value of a setting, NotFound when unset.
  virtual Result<std::string> GetSetting(const std::string& key) = 0;
  // Sets a setting once; AlreadyExists when it holds another value.
  virtual Status InitSetting(const std::string& key, const std::string& value) = 0;

  // ----- device-facing (asynchronous, durable before the callback)
  // The device, or nullopt when unknown. Reads committed state.
  virtual Result<std::optional<DeviceRecord>> FindDevice(const std::string& device_id) = 0;
  // The hash and stored PushResponse of batch `seq` of a device, nullopt when not stored.
  // Lets an I/O thread answer a replay without queuing it to the writer.
  virtual Result<std::optional<std::pair<std::string, std::string>>> FindBatchResponse(
      const std::string& device_id, uint64_t seq) = 0;
  // Runs `run` inside the writer's transaction with the device ledger's repository (what
  // ingest, ingest/ingest_service.h, decides through); `finish` gets its status, or the
  // commit's failure, only after the commit.
  virtual void WriteLedger(std::function<Status(LedgerTx&)> run,
                           std::function<void(Status)> finish) = 0;
  // The same, waiting for the commit.
  virtual Status RunLedger(std::function<Status(LedgerTx&)> run) = 0;
  // Spends an enrollment code and creates a device whose id is
  // protocol::DeviceIdFromPublicKey(public_key). The same key repeating its own enrollment
  // gets the answer again. PermissionDenied for an unknown, spent or expired code.
  virtual void Enroll(EnrollParams params,
                      std::function<void(Result<v1::EnrollResponse>)> done) = 0;
  // Records the pull's nonce (AlreadyExists when seen before), clock offset and pending count,
  // and answers what changed since the cursor.
  virtual void Pull(PullParams params, std::function<void(Result<v1::PullResponse>)> done) = 0;
  // Counts a refused request by reason; best effort (dropped when the writer is saturated).
  virtual void CountRejection(const std::string& reason) = 0;

  // ----- admin (synchronous, short transactions)
  // Inserts or replaces stations; all or nothing.
  virtual Status ImportStations(const std::vector<v1::Station>& stations) = 0;
  // Publishes a form version; AlreadyExists when the same id+version differs.
  virtual Status PublishForm(const v1::FormDefinition& form) = 0;
  // Adds observers with their assigned stations (which must exist); all or nothing.
  // AlreadyExists names the first observer id already present.
  virtual Status AddObservers(const std::vector<ObserverEntry>& observers) = 0;
  // Assigns more stations to an existing observer (kept assignments stay); each new one is
  // logged in the audit log as done by `by`. NotFound for an unknown observer or station.
  // Devices learn it with their next pull; held records may then be released.
  virtual Status AssignStations(const std::string& observer_id,
                                const std::vector<std::string>& station_codes,
                                const std::string& by) = 0;
  // Every observer with assigned stations, by id.
  virtual Result<std::vector<ObserverEntry>> ListObservers() = 0;
  // Stores enrollment codes by their SHA-256 only; all or nothing.
  virtual Status AddEnrollmentCodes(const std::vector<EnrollmentCodeEntry>& codes) = 0;

  // One observer (AddObservers of one).
  Status AddObserver(const std::string& id, const std::string& name, const std::string& phone,
                     const std::vector<std::string>& station_codes) {
    return AddObservers({ObserverEntry{id, name, phone, station_codes}});
  }
  // One code (AddEnrollmentCodes of one).
  Status AddEnrollmentCode(const std::string& code_hash, const std::string& observer_id,
                           int64_t expires_at_ms) {
    return AddEnrollmentCodes({EnrollmentCodeEntry{code_hash, observer_id, expires_at_ms}});
  }
  // Stores a coordinator's message; devices get it with their next pull. Fills in
  // broadcast_id (a new UUID) and sent_at_ms when empty.
  virtual Result<v1::Broadcast> AddBroadcast(v1::Broadcast broadcast) = 0;
  virtual Result<std::vector<DeviceRecord>> ListDevices() = 0;
  // Marks a device revoked, its later pushes and pulls refused, and logs it in the audit log
  // as done by `by`. NotFound when unknown; InvalidArgument without `by` or `reason`;
  // FailedPrecondition when already revoked.
  virtual Status RevokeDevice(const std::string& device_id, const std::string& reason,
                              const std::string& by) = 0;
  virtual Result<v1::ServerStats> Stats() = 0;
  // Calls `row` for each stored submission in log order.
  virtual Status ForEachSubmission(const std::function<void(const SubmissionRow&)>& row) = 0;

  // ----- merge (docs/merge.md; synchronous)
  // Sets or removes an override, logs it in the audit log and recomputes the master, in one
  // transaction. NotFound for an unknown station, form or question; InvalidArgument for a
  // value the question does not accept; empty `by` or `reason` is InvalidArgument.
  virtual Result<v1::MasterRecord> SetOverride(const OverrideRequest& request) = 0;
  // Moves a case along its workflow and logs it. NotFound for an unknown case;
  // FailedPrecondition for a transition the workflow does not allow.
  virtual Result<v1::Case> SetCaseStatus(const std::string& case_id, v1::CaseStatus status,
                                         const std::string& by, const std::string& reason) = 0;
  virtual Result<v1::CoverageReport> Coverage(const CoverageQuery& query) = 0;
  // Open (not overridden) conflicts by station, form and question.
  virtual Result<v1::ConflictList> Conflicts() = 0;
  // Cases by station and first occurrence; only those with `status` unless UNSPECIFIED.
  virtual Result<v1::CaseList> Cases(v1::CaseStatus status) = 0;
  virtual Result<v1::AuditLog> Audit() = 0;
  // Calls `row` for each master record by station code and form.
  virtual Status ForEachMaster(const std::function<void(const v1::MasterRecord&)>& row) = 0;

  // ----- dashboard (docs/dashboard.md; synchronous)
  // AlreadyExists when the name is taken.
  virtual Status AddCoordinator(const CoordinatorRecord& coordinator) = 0;
  // The coordinator, or nullopt when unknown.
  virtual Result<std::optional<CoordinatorRecord>> FindCoordinator(const std::string& name) = 0;
  // Every coordinator by name, without password hashes.
  virtual Result<v1::CoordinatorList> ListCoordinators() = 0;
  // NotFound when unknown.
  virtual Status SetCoordinatorDisabled(const std::string& name, bool disabled) = 0;
  // Appends to the audit log (logins, logouts; other actions log themselves).
  virtual Status LogCoordinatorAction(const v1::AuditEntry& entry) = 0;
  // Raises an alert, or counts it into the alert of the same kind, device and detail from the
  // last hour; at most 50 distinct details per kind and device within the hour, the rest
  // counted in one overflow row. The device id and detail are stored inert (inert_text.h).
  // Best effort: dropped when the writer is saturated.
  virtual void RecordAlert(const std::string& kind, const std::string& device_id,
                           const std::string& detail) = 0;
  // Everything on the overview page but the coverage rows' live silent-observer list.
  virtual Result<v1::Overview> Overview(int64_t silent_after_ms) = 0;
  virtual Result<v1::CoveragePage> CoverageDrill(const CoverageDrillQuery& query) = 0;
  // NotFound for an unknown station.
  virtual Result<v1::StationDetail> StationDetail(const std::string& station_code) = 0;
  // The newest version of every published form.
  virtual Result<v1::FormCatalog> FormCatalog() = 0;
  virtual Result<v1::CasePage> CasePage(const CaseQuery& query) = 0;
  // NotFound for an unknown case.
  virtual Result<v1::CaseDetail> CaseDetail(const std::string& case_id) = 0;
  virtual Result<v1::DevicePage> DevicePage(const DeviceQuery& query) = 0;
  // NotFound for an unknown device.
  virtual Result<v1::DeviceRow> DeviceRow(const std::string& device_id) = 0;
  // Newest first; only `kind` unless empty.
  virtual Result<v1::AlertPage> AlertPage(const std::string& kind, PageRequest page) = 0;
  // ----- quarantine (docs/protocol.md §8.5; synchronous)
  // Quarantined records, newest first: those still held, or with `released` those a
  // coordinator released.
  virtual Result<v1::QuarantinePage> QuarantinePage(bool released, PageRequest page) = 0;

  // Grows with every committed write of this process: the dashboard recomputes its overview
  // when it changed.
  virtual uint64_t ChangeCounter() const = 0;

  // Requests waiting for the writer.
  virtual size_t WriterQueueDepth() const = 0;
  // Finishes queued writes and stops the writer. Later writes fail with kUnavailable.
  virtual void Close() = 0;
};

}  // namespace vigil::syncd
