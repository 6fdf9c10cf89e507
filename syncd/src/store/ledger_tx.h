// The device ledger's transactional repository (docs/architecture.md §6): the narrow set of
// reads and writes that ingest (ingest/ingest_service.h) needs inside one write transaction.
// It decides nothing: which batch is accepted, which record is held and what the receipt
// says are the ingest service's; this only finds and stores rows. One implementation over
// the portable SQL layer (store/sql.h) serves SQLite and PostgreSQL.
//
// A LedgerTx lives only inside Store::WriteLedger's callback, on the thread that runs it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "records/record_checks.h"
#include "vigil/protocol/form_rules.h"
#include "vigil/v1/dashboard.pb.h"
#include "vigil/v1/records.pb.h"

namespace vigil::syncd {

// A device's chain head and standing, read under the transaction's lock on the device.
struct DeviceHead {
  bool active = true;
  uint64_t last_seq = 0;
  std::string last_hash;
  std::string observer_id;  // The observer the device was enrolled for.
};

// A stored batch: its hash and the PushResponse that answered it.
struct StoredBatch {
  std::string hash;
  std::string response;
  // False while the batch waits in the writer's group for its log index: its response is
  // not known yet (LedgerTx::AppendToLog).
  bool sealed = true;
};

// One row of `batches`.
struct BatchRow {
  std::string device_id;
  uint64_t seq = 0;
  std::string hash;
  std::string bytes;
  std::string signature;
  int64_t received_at_ms = 0;
  uint64_t log_index = 0;
  uint32_t record_count = 0;
  std::string receipt;   // The serialized SignedReceipt.
  std::string response;  // The serialized PushResponse.
};

// One row of `records`.
struct RecordRow {
  std::string record_id;
  std::string kind;  // "submission" | "incident"
  std::string device_id;
  uint64_t batch_seq = 0;
  std::string content_hash;
  std::string bytes;  // Empty when the record is kept only in its batch.
  std::string station_code;
  std::string form_id;
  uint32_t form_version = 0;
  std::string observer_id;  // The enrolled observer.
  int64_t received_at_ms = 0;
};

// A quarantined record as a release reads it: the listing row and the record's bytes (empty
// when it was larger than its form allows and is kept only in its batch).
struct HeldRecord {
  v1::QuarantinedRecord row;
  std::string bytes;
};

// (station, form) pairs whose master is to be recomputed.
using DirtyMasters = std::set<std::pair<std::string, std::string>>;

class LedgerTx {
 public:
  virtual ~LedgerTx() = default;

  // ----- the chain of batches
  // The device, locked against other writers of its chain until the transaction ends;
  // nullopt when unknown.
  virtual Result<std::optional<DeviceHead>> LockDevice(const std::string& device_id) = 0;
  // Batch `seq` of the device, nullopt when not stored.
  virtual Result<std::optional<StoredBatch>> FindBatch(const std::string& device_id,
                                                       uint64_t seq) = 0;
  // Whether `seq` lies in a gap the device declared lost after a restore.
  virtual Result<bool> InChainGap(const std::string& device_id, uint64_t seq) = 0;
  // Keeps a batch that contradicts the stored one of its seq; false when this very fork is
  // known already.
  virtual Result<bool> KeepEquivocation(const BatchRow& batch) = 0;
  // Fills in an accepted batch's log index and what depends on it (row.log_index, receipt,
  // response); an error fails the writer's whole group.
  using LogSealer = std::function<Status(uint64_t log_index, BatchRow& row)>;
  // Appends an accepted batch to the log. Log indexes are handed out at the end of the
  // writer's group, under the log order's lock, which is then held only until the COMMIT
  // (sql_store.h note 7): `seal` runs there and the row is stored. Until then FindBatch
  // finds it unsealed.
  virtual Status AppendToLog(BatchRow row, LogSealer seal) = 0;
  // Runs `task` when the writer's group ends, after the log order's row is locked and before
  // the log indexes are handed out: for writes to rows that every node's batches share
  // (per-minute counts, masters, cases), which nodes then make one at a time, each seeing
  // the one before. Dropped with the job if the job fails; an error fails the whole group.
  virtual Status AtGroupEnd(std::function<Status(LedgerTx&)> task) = 0;
  // Moves the device's chain head to (seq, hash) and its last-seen time to `now_ms`.
  virtual Status AdvanceHead(const std::string& device_id, uint64_t seq, const std::string& hash,
                             int64_t now_ms) = 0;

  // ----- records
  // Reads ahead, in a few statements, what the records of one batch will ask one by one:
  // which of `record_ids` are stored (StoredContentHash) and the latest submission of
  // `observer_id` at each of `stations` (MergeSubmission). Later answers stay right as this
  // transaction writes. On PostgreSQL each statement is a round trip, the cost that bounds
  // ingest there (docs/performance.md).
  virtual Status ReadAhead(const std::vector<std::string>& record_ids,
                           const std::string& observer_id,
                           const std::set<std::string>& stations) = 0;
  // The compiled form, nullptr when not published or not compilable here.
  virtual Result<const protocol::Form*> CompiledForm(const std::string& form_id,
                                                     uint32_t version) = 0;
  // Whether (form_id, version) is published at all.
  virtual Result<bool> FormPublished(const std::string& form_id, uint32_t version) = 0;
  // RecordAllowanceBytes of a compiled form, computed once.
  virtual size_t AllowanceOf(const protocol::Form& form) = 0;
  // The content hash of a stored record, nullopt when the id is new.
  virtual Result<std::optional<std::string>> StoredContentHash(const std::string& record_id) = 0;
  // The quarantine reason of a record still held, nullopt otherwise.
  virtual Result<std::optional<std::string>> HeldReason(const std::string& record_id) = 0;
  virtual Result<SenderFacts> LoadSenderFacts(const std::string& observer_id,
                                              const std::string& station_code) = 0;
  virtual Status InsertRecord(const RecordRow& record) = 0;
  virtual Status Quarantine(const std::string& record_id, const std::string& reason,
                            const std::string& claimed_observer_id, int64_t now_ms) = 0;
  virtual Status InsertRejection(const std::string& record_id, const std::string& device_id,
                                 uint64_t batch_seq, const std::string& reason,
                                 const std::string& content_hash, int64_t now_ms) = 0;
  // Adds `n` to the per-minute count of `kind` ("submission" | "incident").
  virtual Status CountMinute(int64_t minute, const std::string& kind, int64_t n) = 0;

  // ----- quarantine release
  // NotFound when the record was never quarantined.
  virtual Result<HeldRecord> LoadHeld(const std::string& record_id) = 0;
  // Marks a held record released; Aborted when it was released meanwhile.
  virtual Status MarkReleased(const std::string& record_id, const std::string& by,
                              const std::string& reason, int64_t now_ms) = 0;

  // ----- alerts and audit
  // Raises an alert or counts it into the open one of the same kind, device and detail.
  virtual Status RaiseAlert(const std::string& kind, const std::string& device_id,
                            const std::string& detail, int64_t now_ms) = 0;
  virtual Status Audit(const std::string& actor, const std::string& action,
                       const std::string& target, const std::string& before,
                       const std::string& after, const std::string& reason, int64_t now_ms) = 0;

  // ----- merge (docs/merge.md), in this same transaction
  // Whether merge runs at ingest (off only to measure its cost).
  virtual bool merge_enabled() const = 0;
  // Whether new records are checked (off only to measure the checks' cost).
  virtual bool validate_enabled() const = 0;
  // A stored, trusted submission: its QA flags and the observer's latest; adds the
  // (station, form) to `dirty` when that changed.
  virtual Status MergeSubmission(const v1::Submission& submission, const std::string& device_id,
                                 const std::string& observer_id, DirtyMasters& dirty) = 0;
  virtual Status RecomputeMaster(const std::string& station_code, const std::string& form_id) = 0;
  // Re-clusters every incident at a station.
  virtual Status RecomputeCases(const std::string& station_code) = 0;
};

}  // namespace vigil::syncd
