// What a device's signature does not prove, checked on ingest (docs/protocol.md §8.5).
//
// A signature says which device sent a record, not that the record makes sense. Every record
// that passes the per-record rules of record_rules.h (known form version, new id) is checked
// here against the same protocol::Form rules the device applied while filling, and against
// what only the server knows: the stations, the device's enrolled observer and that
// observer's assignments.
//
// NOTES ON QUARANTINE
//
//  Q1. A record that fails any check is quarantined, never dropped and never merged: it is
//      stored as received (it is signed evidence), listed with the first failing check as its
//      reason, and left out of masters, cases, coverage, statistics and exports.
//  Q2. A record larger than its form allows (RecordAllowanceBytes) is quarantined without
//      its bytes: the batch that carried it is stored, so the evidence is kept, but the store
//      grows by no more than the allowance for it.
//  Q3. The observer a record names is a claim. Merge, exports and the dashboard use the
//      device's enrolled observer; a record that claims another observer is quarantined.
//  Q4. A coordinator's release re-runs these checks against the stations and assignments of
//      that moment (an observer may have been moved to the station since); a record that still
//      fails stays held. A released record is merged once, and its release is audited.
//  These are pure functions: no store, no threads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/protocol/form_rules.h"
#include "vigil/v1/records.pb.h"

namespace vigil::syncd {

// What the server knows about a record's sender and station.
struct SenderFacts {
  std::string enrolled_observer_id;  // The observer the device was enrolled for.
  bool station_known = false;        // The station code is in the station list.
  bool station_assigned = false;     // ... and assigned to the enrolled observer.
};

// Most photo references one incident report may carry.
inline constexpr int kMaxPhotoRefs = 20;

// The largest serialized record a form admits: every question answered at its largest
// (TEXT at its max length in 4-byte code points, SELECT_MANY with every option), plus the
// fixed fields of a submission or incident report at their limits. A record that passes
// the form's rules is never larger.
size_t RecordAllowanceBytes(const protocol::Form& form);

// True when `id` can name a record: 1 to 64 characters from [A-Za-z0-9._-]. Devices make
// lower-case version-4 UUIDs; other ids are accepted so long as they stay inert in logs,
// CSV exports and URLs.
bool ValidRecordId(std::string_view id);

// The reason to quarantine `record`, or nullopt when it passes every check.
// `record_bytes` is the size of its serialization; `form` is the form version it names and
// `allowance` its RecordAllowanceBytes (computed once per form by the caller).
std::optional<std::string> QuarantineReason(const v1::Record& record, size_t record_bytes,
                                            size_t allowance, const protocol::Form& form,
                                            const SenderFacts& sender);

}  // namespace vigil::syncd
