// What devices touch (docs/architecture.md §6): enrollment, pushes through the ledger's
// repository (ledger_tx.h), pulls, and the refusals and alerts their requests raise.
//
// Writes that answer a device (WriteLedger, Enroll, Pull) are asynchronous: the callback
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

// Milliseconds since the Unix epoch.
int64_t NowMs();

// The device-facing part of the store (http/router.h, ingest/ingest_service.h). Thread-safe.
class DeviceLedger {
 public:
  virtual ~DeviceLedger() = default;

  // The value of a setting, NotFound when unset.
  virtual Result<std::string> GetSetting(const std::string& key) = 0;
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
  // Raises an alert, or counts it into the alert of the same kind, device and detail from the
  // last hour; at most 50 distinct details per kind and device within the hour, the rest
  // counted in one overflow row. The device id and detail are stored inert (inert_text.h).
  // Best effort: dropped when the writer is saturated.
  virtual void RecordAlert(const std::string& kind, const std::string& device_id,
                           const std::string& detail) = 0;
  // Requests waiting for the writer.
  virtual size_t WriterQueueDepth() const = 0;
  // Whether the writer's connection to the database is up (false while it reconnects).
  virtual bool DatabaseUp() const = 0;
  // Times the writer connected again after losing its database connection.
  virtual uint64_t DatabaseReconnects() const = 0;
};

}  // namespace vigil::syncd
