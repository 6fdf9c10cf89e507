#include "store/sqlite_rows.h"

#include "store/inert_text.h"
#include "store/sql_store.h"

namespace vigil::syncd {
namespace {

constexpr int64_t kAlertWindowMs = 3600 * 1000;
constexpr size_t kMaxAlertDetail = 300;
constexpr size_t kMaxAlertDeviceId = 64;
// Distinct details kept per kind and device within kAlertWindowMs; then one overflow row.
constexpr int64_t kMaxAlertDetailsPerHour = 50;
constexpr const char* kOverflowDetail = "(more distinct details within the hour; not kept)";

double Percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

// Counts one more of the alert (kind, device, detail) into its row from the last hour;
// false when there is no such row.
Result<bool> BumpAlert(sql::Connection& db, const std::string& kind, const std::string& device,
                       const std::string& detail, int64_t now_ms) {
  sql::Statement bump(
      db,
      "UPDATE alerts SET count = count + 1, last_at_ms = ?1 WHERE id = (SELECT id FROM "
      "alerts WHERE kind = ?2 AND device_id = ?3 AND detail = ?4 AND last_at_ms >= ?5 "
      "ORDER BY last_at_ms DESC LIMIT 1)");
  bump.Bind(1, now_ms).BindText(2, kind).BindText(3, device).BindText(4, detail);
  bump.Bind(5, now_ms - kAlertWindowMs);
  VIGIL_RETURN_IF_ERROR(bump.Run());
  return db.Changes() > 0;
}

}  // namespace

Status AppendAuditEntry(sql::Connection& db, const std::string& actor, const std::string& action,
                        const std::string& target, const std::string& before,
                        const std::string& after, const std::string& reason, int64_t at_ms) {
  sql::Statement put(db,
                     "INSERT INTO audit_log(at_ms, actor, action, target, before, after, reason) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)");
  put.Bind(1, at_ms != 0 ? at_ms : NowMs()).BindText(2, actor).BindText(3, action);
  put.BindText(4, target).BindText(5, before).BindText(6, after).BindText(7, reason);
  return put.Run();
}

Status RaiseAlert(sql::Connection& db, const std::string& kind, const std::string& device_id,
                  const std::string& detail, int64_t now_ms) {
  const std::string device = InertText(device_id, kMaxAlertDeviceId);
  std::string text = InertText(detail, kMaxAlertDetail);
  VIGIL_ASSIGN_OR_RETURN(bool counted, BumpAlert(db, kind, device, text, now_ms));
  if (counted) return Status::Ok();
  sql::Statement distinct(db,
                          "SELECT count(*) FROM alerts WHERE kind = ?1 AND device_id = ?2 AND "
                          "last_at_ms >= ?3");
  distinct.BindText(1, kind).BindText(2, device).Bind(3, now_ms - kAlertWindowMs);
  VIGIL_ASSIGN_OR_RETURN(bool row, distinct.Step());
  if (row && distinct.Int(0) >= kMaxAlertDetailsPerHour) {
    text = kOverflowDetail;
    VIGIL_ASSIGN_OR_RETURN(counted, BumpAlert(db, kind, device, text, now_ms));
    if (counted) return Status::Ok();
  }
  sql::Statement put(db,
                     "INSERT INTO alerts(kind, device_id, detail, first_at_ms, last_at_ms, count) "
                     "VALUES (?, ?, ?, ?, ?, 1)");
  put.BindText(1, kind).BindText(2, device).BindText(3, text).Bind(4, now_ms).Bind(5, now_ms);
  return put.Run();
}

void FillPercentages(v1::CoverageRow& row) {
  row.set_missing_pct(Percent(row.missing(), row.stations()));
  row.set_partial_pct(Percent(row.partial(), row.stations()));
  row.set_complete_pct(Percent(row.complete(), row.stations()));
  row.set_conflict_pct(Percent(row.conflict(), row.stations()));
}

}  // namespace vigil::syncd
