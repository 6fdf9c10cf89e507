// Row helpers the SQLite store's parts share (internal to syncd/src/store).
#pragma once

#include <cstdint>
#include <string>

#include "store/sql.h"
#include "vigil/v1/dashboard.pb.h"

namespace vigil::syncd {

// Appends one audit_log row stamped now (or at `at_ms` when it is not 0), inside the caller's
// transaction, so that a change and its audit entry commit together.
Status AppendAuditEntry(sql::Connection& db, const std::string& actor, const std::string& action,
                        const std::string& target, const std::string& before,
                        const std::string& after, const std::string& reason, int64_t at_ms = 0);

// Raises an alert inside the caller's transaction: a repeat of the same kind, device and
// detail within the hour counts into that row; any other detail is a row of its own, so no
// detail is lost, up to 50 distinct details per kind and device within the hour (the rest
// count into one overflow row, so a flood adds rows per hour, not per request). Both strings
// may come from an attacker: they are made inert and cut to a bound (store/inert_text.h).
Status RaiseAlert(sql::Connection& db, const std::string& kind, const std::string& device_id,
                  const std::string& detail, int64_t now_ms);

// Sets a coverage row's *_pct fields from its counts (0 when it has no stations).
void FillPercentages(v1::CoverageRow& row);

}  // namespace vigil::syncd
