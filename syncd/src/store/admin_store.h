// What an administrator sets up and reads (docs/architecture.md §6, docs/operations.md):
// stations, forms, observers, enrollment codes, broadcasts, devices, exports.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/device_ledger.h"
#include "vigil/status.h"
#include "vigil/v1/admin.pb.h"
#include "vigil/v1/forms.pb.h"
#include "vigil/v1/records.pb.h"

namespace vigil::syncd {

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

// The administration part of the store (syncd admin, the dashboard's admin actions). Synchronous,
// short transactions; thread-safe.
class AdminStore {
 public:
  virtual ~AdminStore() = default;

  // Sets a setting once; AlreadyExists when it holds another value.
  virtual Status InitSetting(const std::string& key, const std::string& value) = 0;
  // Sets a setting, replacing any value it held.
  virtual Status PutSetting(const std::string& key, const std::string& value) = 0;
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
};

}  // namespace vigil::syncd
