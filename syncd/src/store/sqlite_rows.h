// Row helpers the SQLite store's parts share (internal to syncd/src/store).
#pragma once

#include <cstdint>
#include <string>

#include "store/sqlite_db.h"
#include "vigil/v1/dashboard.pb.h"

namespace vigil::syncd {

// Appends one audit_log row stamped now (or at `at_ms` when it is not 0), inside the caller's
// transaction, so that a change and its audit entry commit together.
Status AppendAuditEntry(Db& db, const std::string& actor, const std::string& action,
                        const std::string& target, const std::string& before,
                        const std::string& after, const std::string& reason, int64_t at_ms = 0);

// Sets a coverage row's *_pct fields from its counts (0 when it has no stations).
void FillPercentages(v1::CoverageRow& row);

}  // namespace vigil::syncd
