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

// Counts one more into the alert row `id`.
Status BumpAlert(sql::Connection& db, int64_t id, int64_t now_ms) {
  sql::Statement bump(db, "UPDATE alerts SET count = count + 1, last_at_ms = ?1 WHERE id = ?2");
  bump.Bind(1, now_ms).Bind(2, id);
  return bump.Queue();
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
  // One read: this alert's open row, the overflow row, and how many distinct ones are open.
  sql::Statement open(
      db,
      "SELECT (SELECT id FROM alerts WHERE kind = ?1 AND device_id = ?2 AND detail = ?3 AND "
      "last_at_ms >= ?5 ORDER BY last_at_ms DESC LIMIT 1), "
      "(SELECT id FROM alerts WHERE kind = ?1 AND device_id = ?2 AND detail = ?4 AND "
      "last_at_ms >= ?5 ORDER BY last_at_ms DESC LIMIT 1), "
      "(SELECT count(*) FROM alerts WHERE kind = ?1 AND device_id = ?2 AND last_at_ms >= ?5)");
  open.BindText(1, kind).BindText(2, device).BindText(3, text).BindText(4, kOverflowDetail);
  open.Bind(5, now_ms - kAlertWindowMs);
  VIGIL_ASSIGN_OR_RETURN(bool row, open.Step());
  if (!row) return Status::Internal("alert lookup returned no row");
  if (!open.IsNull(0)) return BumpAlert(db, open.Int(0), now_ms);
  if (open.Int(2) >= kMaxAlertDetailsPerHour) {
    if (!open.IsNull(1)) return BumpAlert(db, open.Int(1), now_ms);
    text = kOverflowDetail;
  }
  sql::Statement put(db,
                     "INSERT INTO alerts(kind, device_id, detail, first_at_ms, last_at_ms, count) "
                     "VALUES (?, ?, ?, ?, ?, 1)");
  put.BindText(1, kind).BindText(2, device).BindText(3, text).Bind(4, now_ms).Bind(5, now_ms);
  return put.Queue();
}

void FillPercentages(v1::CoverageRow& row) {
  row.set_missing_pct(Percent(row.missing(), row.stations()));
  row.set_partial_pct(Percent(row.partial(), row.stations()));
  row.set_complete_pct(Percent(row.complete(), row.stations()));
  row.set_conflict_pct(Percent(row.conflict(), row.stations()));
}

}  // namespace vigil::syncd
