// The merged view coordinators correct and read (docs/merge.md): overrides, cases,
// coverage, conflicts, the audit log.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"
#include "vigil/v1/admin.pb.h"
#include "vigil/v1/merge.pb.h"

namespace vigil::syncd {

// A coordinator's change to one field of a master record.
struct OverrideRequest {
  std::string station_code;
  std::string form_id;
  std::string question_id;
  std::optional<std::string> value_text;  // As typed (merge::ValueFromText); nullopt removes.
  std::string by;
  std::string reason;
};

// What `syncd admin coverage` asks for.
struct CoverageQuery {
  std::string form_id;             // "" for every checklist form.
  std::string level = "province";  // "nation" | "province" | "district" | "commune"
  int64_t silent_after_ms = 2 * 3600 * 1000;
  bool list_silent = true;  // false: leave silent_observers empty (the dashboard counts them).
};

// The merge part of the store. Synchronous; thread-safe.
class MergeStore {
 public:
  virtual ~MergeStore() = default;

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
};

}  // namespace vigil::syncd
