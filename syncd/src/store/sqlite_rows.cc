#include "store/sqlite_rows.h"

#include "store/sqlite_store.h"

namespace vigil::syncd {
namespace {

double Percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

Status AppendAuditEntry(Db& db, const std::string& actor, const std::string& action,
                        const std::string& target, const std::string& before,
                        const std::string& after, const std::string& reason, int64_t at_ms) {
  Statement put(db.get(),
                "INSERT INTO audit_log(at_ms, actor, action, target, before, after, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)");
  put.Bind(1, at_ms != 0 ? at_ms : NowMs()).BindText(2, actor).BindText(3, action);
  put.BindText(4, target).BindText(5, before).BindText(6, after).BindText(7, reason);
  return put.Run();
}

void FillPercentages(v1::CoverageRow& row) {
  row.set_missing_pct(Percent(row.missing(), row.stations()));
  row.set_partial_pct(Percent(row.partial(), row.stations()));
  row.set_complete_pct(Percent(row.complete(), row.stations()));
  row.set_conflict_pct(Percent(row.conflict(), row.stations()));
}

}  // namespace vigil::syncd
