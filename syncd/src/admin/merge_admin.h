// The pure parts of `syncd admin coverage | conflicts | cases | case set-status | override |
// audit | export masters`: parsing their arguments and printing their answers for people.
// JSON output is the messages of merge.proto through ToJson (admin.h).
#pragma once

#include <ostream>
#include <string>

#include "store/merge_store.h"
#include "vigil/status.h"
#include "vigil/v1/merge.pb.h"

namespace vigil::syncd {

// "new", "verified", "escalated", "resolved", "rejected" (any case; also "CASE_NEW" etc.).
Result<v1::CaseStatus> ParseCaseStatus(const std::string& text);

// "missing", "partial", "complete", "conflict".
std::string CoverageStatusText(v1::CoverageStatus status);

// "new", "verified", ... for people.
std::string CaseStatusText(v1::CaseStatus status);

// One line per area and form with counts and percentages, then the silent observers.
std::string CoverageText(const v1::CoverageReport& report);

// One block per conflict: station, form, question, then each observer's value.
std::string ConflictsText(const v1::ConflictList& list);

// One line per case, then its timeline indented.
std::string CasesText(const v1::CaseList& list);

// One line per audit entry.
std::string AuditText(const v1::AuditLog& log);

// CSV, one line per master: station_code, form_id, form_version, status, answers
// (question=value;…), conflicts (question ids;…), qa_flags (check ids;…), overrides
// (question ids;…), observers (count).
Status WriteMastersCsv(MergeStore& store, std::ostream& out);

}  // namespace vigil::syncd
