// Merge of incident reports into cases (docs/architecture.md §5). Pure: no store, no clock.
//
// NOTES ON THE CASE RULES (invariants; docs/merge.md states them for people)
//
//  C1. Every report is kept; reports are idempotent by incident_id (repeats count once).
//  C2. Follow-ups. A report whose parent_id names a report present at the same station is a
//      follow-up: it joins the case of its root (the first report up its parent chain, the
//      chain followed through present reports only). A parent that is absent, at another
//      station, or part of a cycle makes the report a first report of its own.
//  C3. Clustering. First reports of the same (station, category) are sorted by
//      (occurred_at_ms, incident_id); two neighbours whose occurred_at_ms differ by at most
//      `window_ms` are in the same case (single linkage: the connected components of "within
//      the window"). So a case's first reports may span more than one window when each gap
//      is within it; a gap of window_ms + 1 splits.
//  C4. Case id. The incident_id of the case's earliest first report by (occurred_at_ms,
//      incident_id). Adding reports only ever merges components, so a case id survives any
//      later arrival unless its case merges with an earlier one.
//  C5. Severity. The highest of every member's severity (low < medium < high < critical;
//      an unknown word ranks below low).
//  C6. Order independence. The result depends only on the set of reports and the window:
//      cases are returned by case id, each timeline by (occurred_at_ms, incident_id).
//  C7. Status workflow, changed only by coordinators (CaseTransitionAllowed):
//        new -> verified -> escalated -> resolved, and new | verified | escalated -> rejected.
//      Nothing else: no skipping, no going back, nothing out of resolved or rejected.
//  The store keeps a case's status by case id, not here (sqlite_merge_ops.cc note 4).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vigil/v1/merge.pb.h"
#include "vigil/v1/records.pb.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::syncd::merge {

// Default clustering window: 60 minutes.
inline constexpr int64_t kDefaultIncidentWindowMs = 60 * 60 * 1000;

// One stored incident report and who sent it.
struct IncidentInput {
  v1::IncidentReport report;
  std::string observer_id;
  std::string device_id;
};

// Rank of a severity word: critical 4, high 3, medium 2, low 1, anything else 0.
int SeverityRank(const std::string& severity);

// Whether a coordinator may move a case from `from` to `to` (C7).
bool CaseTransitionAllowed(v1::CaseStatus from, v1::CaseStatus to);

// The cases of a set of reports (C1-C6), by case id; status fields are left unset.
std::vector<v1::Case> ClusterIncidents(const std::vector<IncidentInput>& reports,
                                       int64_t window_ms);

}  // namespace vigil::syncd::merge
