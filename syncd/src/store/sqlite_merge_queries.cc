// Coordinators' side of merge: overrides and case statuses (writer jobs, each logged in
// audit_log in its own transaction) and the read-only queries behind `syncd admin coverage,
// conflicts, cases, audit, export masters`.
#include <algorithm>
#include <map>

#include "merge/cases.h"
#include "merge/value_text.h"
#include "records/record_rules.h"
#include "store/sql_store.h"
#include "store/sqlite_rows.h"

namespace vigil::syncd {
namespace {

Status CheckActor(const std::string& by, const std::string& reason) {
  if (by.empty()) return Status::InvalidArgument("say who you are (--by NAME)");
  if (reason.empty()) return Status::InvalidArgument("give a reason (--reason TEXT)");
  return Status::Ok();
}

}  // namespace

Result<v1::MasterRecord> SqlStore::SetOverride(const OverrideRequest& request) {
  VIGIL_RETURN_IF_ERROR(CheckActor(request.by, request.reason));
  v1::MasterRecord master;
  Status done = RunSync([&](sql::Connection& db) -> Status {
    sql::Statement station(db, "SELECT 1 FROM stations WHERE code = ?");
    station.BindText(1, request.station_code);
    VIGIL_ASSIGN_OR_RETURN(bool known, station.Step());
    if (!known) return Status::NotFound("no station with code " + request.station_code);
    sql::Statement newest(db, "SELECT max(version) FROM forms WHERE form_id = ?");
    newest.BindText(1, request.form_id);
    VIGIL_ASSIGN_OR_RETURN(bool row, newest.Step());
    if (!row || newest.IsNull(0)) return Status::NotFound("no form " + request.form_id);
    VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                           CompiledForm(db, request.form_id, static_cast<uint32_t>(newest.Int(0))));
    if (form == nullptr) return Status::NotFound("no form " + request.form_id);
    if (form->definition().kind() != v1::CHECKLIST) {
      return Status::InvalidArgument("form " + request.form_id + " is not a checklist");
    }
    const v1::Question* question = form->Find(request.question_id);
    if (question == nullptr) {
      return Status::NotFound("form " + request.form_id + " has no question " +
                              request.question_id);
    }
    const std::string target =
        request.station_code + "/" + request.form_id + "/" + request.question_id;
    sql::Statement old(db,
                       "SELECT override FROM overrides WHERE station_code = ? AND form_id = ? AND "
                       "question_id = ?");
    old.BindText(1, request.station_code).BindText(2, request.form_id);
    old.BindText(3, request.question_id);
    VIGIL_ASSIGN_OR_RETURN(bool had, old.Step());
    std::string before;
    if (had) {
      v1::Override previous;
      if (previous.ParseFromString(old.Blob(0))) before = previous.text();
    }
    if (request.value_text.has_value()) {
      VIGIL_ASSIGN_OR_RETURN(v1::Value value, merge::ValueFromText(*question, *request.value_text));
      VIGIL_RETURN_IF_ERROR(form->CheckAnswer(*question, value));
      v1::Override o;
      o.set_station_code(request.station_code);
      o.set_form_id(request.form_id);
      o.set_question_id(request.question_id);
      *o.mutable_value() = value;
      o.set_text(protocol::ValueToText(value));
      o.set_by(request.by);
      o.set_reason(request.reason);
      o.set_at_ms(NowMs());
      sql::Statement put(db,
                         "INSERT INTO overrides(station_code, form_id, question_id, override) "
                         "VALUES (?, ?, ?, ?) ON CONFLICT(station_code, form_id, question_id) "
                         "DO UPDATE SET override = excluded.override");
      put.BindText(1, request.station_code).BindText(2, request.form_id);
      put.BindText(3, request.question_id).BindBlob(4, DeterministicBytes(o));
      VIGIL_RETURN_IF_ERROR(put.Run());
      VIGIL_RETURN_IF_ERROR(AppendAuditEntry(db, request.by, "override.set", target, before,
                                             o.text(), request.reason));
    } else {
      if (!had) return Status::NotFound("no override on " + target);
      sql::Statement drop(db,
                          "DELETE FROM overrides WHERE station_code = ? AND form_id = ? AND "
                          "question_id = ?");
      drop.BindText(1, request.station_code).BindText(2, request.form_id);
      drop.BindText(3, request.question_id);
      VIGIL_RETURN_IF_ERROR(drop.Run());
      VIGIL_RETURN_IF_ERROR(
          AppendAuditEntry(db, request.by, "override.remove", target, before, "", request.reason));
    }
    VIGIL_ASSIGN_OR_RETURN(master, RecomputeMaster(db, request.station_code, request.form_id));
    return Status::Ok();
  });
  VIGIL_RETURN_IF_ERROR(done);
  return master;
}

Result<v1::Case> SqlStore::SetCaseStatus(const std::string& case_id, v1::CaseStatus status,
                                         const std::string& by, const std::string& reason) {
  VIGIL_RETURN_IF_ERROR(CheckActor(by, reason));
  v1::Case result;
  Status done = RunSync([&](sql::Connection& db) -> Status {
    sql::Statement body(db, "SELECT body FROM cases WHERE case_id = ?");
    body.BindText(1, case_id);
    VIGIL_ASSIGN_OR_RETURN(bool found, body.Step());
    if (!found) return Status::NotFound("no case " + case_id);
    if (!result.ParseFromString(body.Blob(0))) return Status::DataLoss("case unreadable");
    sql::Statement current(db, "SELECT status FROM case_status WHERE case_id = ?");
    current.BindText(1, case_id);
    VIGIL_ASSIGN_OR_RETURN(bool has_status, current.Step());
    auto from = has_status ? static_cast<v1::CaseStatus>(current.Int(0)) : v1::CASE_NEW;
    if (!merge::CaseTransitionAllowed(from, status)) {
      return Status::FailedPrecondition(
          "case " + case_id + " is " + v1::CaseStatus_Name(from) + "; it cannot become " +
          v1::CaseStatus_Name(status) +
          " (allowed: NEW->VERIFIED->ESCALATED->RESOLVED, or REJECTED from NEW, VERIFIED or "
          "ESCALATED)");
    }
    const int64_t now = NowMs();
    sql::Statement put(db,
                       "INSERT INTO case_status(case_id, status, changed_at_ms, changed_by) "
                       "VALUES (?, ?, ?, ?) ON CONFLICT(case_id) DO UPDATE SET "
                       "status = excluded.status, changed_at_ms = excluded.changed_at_ms, "
                       "changed_by = excluded.changed_by");
    put.BindText(1, case_id).Bind(2, status).Bind(3, now).BindText(4, by);
    VIGIL_RETURN_IF_ERROR(put.Run());
    result.set_status(status);
    result.set_status_changed_at_ms(now);
    return AppendAuditEntry(db, by, "case.status", case_id, v1::CaseStatus_Name(from),
                            v1::CaseStatus_Name(status), reason);
  });
  VIGIL_RETURN_IF_ERROR(done);
  return result;
}

Result<v1::CoverageReport> SqlStore::Coverage(const CoverageQuery& query) {
  static const char* const kLevels[] = {"nation", "province", "district", "commune"};
  if (std::find(std::begin(kLevels), std::end(kLevels), query.level) == std::end(kLevels)) {
    return Status::InvalidArgument("--by takes province, district or commune, not " + query.level);
  }
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  std::vector<std::string> forms;
  if (!query.form_id.empty()) {
    forms.push_back(query.form_id);
  } else {
    sql::Statement list(reader,
                        "SELECT DISTINCT form_id FROM forms WHERE kind = 1 ORDER BY form_id");
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, list.Step());
      if (!row) break;
      forms.push_back(list.Text(0));
    }
  }
  v1::CoverageReport report;
  report.set_level(query.level);
  report.set_silent_after_ms(query.silent_after_ms);
  // An area is its path from the province down, so that two communes of the same name in
  // different districts stay apart. Stations per area come from stations; statuses from the
  // masters' own area columns (sqlite_schema.cc, migration 2): two index scans, no join.
  const int depth = query.level == "nation"     ? 0
                    : query.level == "province" ? 1
                    : query.level == "district" ? 2
                                                : 3;
  auto area_of = [&](const sql::Statement& stmt) {
    std::string area;
    for (int i = 0; i < depth; ++i) area += (i ? " / " : "") + stmt.Text(i);
    return area;
  };
  // Both scans group by the whole path in index order (no sort) and are summed up to the
  // level asked for here.
  std::map<std::string, uint64_t> stations;  // area -> stations
  {
    sql::Statement count(reader,
                         "SELECT province, district, commune, count(*) FROM stations "
                         "GROUP BY province, district, commune");
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, count.Step());
      if (!row) break;
      stations[area_of(count)] += static_cast<uint64_t>(count.Int(3));
    }
  }
  sql::Statement statuses(reader,
                          "SELECT province, district, commune, status, count(*) FROM masters "
                          "WHERE form_id = ? AND province IS NOT NULL "
                          "GROUP BY province, district, commune, status");
  for (const std::string& form_id : forms) {
    std::map<std::string, v1::CoverageRow> rows;
    for (const auto& [area, n] : stations) {
      v1::CoverageRow& r = rows[area];
      r.set_level(query.level);
      r.set_area(area);
      r.set_form_id(form_id);
      r.set_stations(n);
    }
    statuses.Reset();
    statuses.BindText(1, form_id);
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, statuses.Step());
      if (!row) break;
      auto it = rows.find(area_of(statuses));
      if (it == rows.end()) continue;
      const auto n = static_cast<uint64_t>(statuses.Int(4));
      switch (statuses.Int(3)) {
        case v1::COVERAGE_PARTIAL:
          it->second.set_partial(it->second.partial() + n);
          break;
        case v1::COVERAGE_COMPLETE:
          it->second.set_complete(it->second.complete() + n);
          break;
        case v1::COVERAGE_CONFLICT:
          it->second.set_conflict(it->second.conflict() + n);
          break;
        default:
          break;
      }
    }
    v1::CoverageRow nation;
    nation.set_level("nation");
    nation.set_form_id(form_id);
    for (auto& [area, r] : rows) {
      r.set_missing(r.stations() -
                    std::min(r.stations(), r.partial() + r.complete() + r.conflict()));
      FillPercentages(r);
      nation.set_stations(nation.stations() + r.stations());
      nation.set_missing(nation.missing() + r.missing());
      nation.set_partial(nation.partial() + r.partial());
      nation.set_complete(nation.complete() + r.complete());
      nation.set_conflict(nation.conflict() + r.conflict());
    }
    FillPercentages(nation);
    *report.add_rows() = nation;
    if (depth > 0) {
      for (auto& [area, r] : rows) *report.add_rows() = std::move(r);
    }
  }
  if (!query.list_silent) return report;
  sql::Statement silent(
      reader,
      "SELECT a.observer_id, coalesce(d.device_id, ''), a.station_code, "
      "coalesce(d.last_seen_ms, 0) FROM assignments a "
      "LEFT JOIN devices d ON d.observer_id = a.observer_id AND d.status = 'active' "
      "WHERE coalesce(d.last_seen_ms, 0) < ? "
      "ORDER BY a.station_code, a.observer_id, d.device_id LIMIT 100000");
  silent.Bind(1, NowMs() - query.silent_after_ms);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, silent.Step());
    if (!row) break;
    v1::SilentObserver* s = report.add_silent_observers();
    s->set_observer_id(silent.Text(0));
    s->set_device_id(silent.Text(1));
    s->set_station_code(silent.Text(2));
    s->set_last_seen_ms(silent.Int(3));
  }
  return report;
}

Result<v1::ConflictList> SqlStore::Conflicts() {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  v1::ConflictList list;
  sql::Statement stmt(reader,
                      "SELECT conflict FROM conflicts ORDER BY station_code, form_id, question_id");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return list;
    if (!list.add_conflicts()->ParseFromString(stmt.Blob(0))) {
      return Status::DataLoss("conflict unreadable");
    }
  }
}

Result<v1::CaseList> SqlStore::Cases(v1::CaseStatus status) {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  v1::CaseList list;
  sql::Statement stmt(
      reader,
      "SELECT c.body, coalesce(s.status, 1), coalesce(s.changed_at_ms, 0) FROM cases c "
      "LEFT JOIN case_status s ON s.case_id = c.case_id "
      "WHERE ?1 = 0 OR coalesce(s.status, 1) = ?1 "
      "ORDER BY c.station_code, c.first_occurred_at_ms, c.case_id");
  stmt.Bind(1, status);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return list;
    v1::Case* c = list.add_cases();
    if (!c->ParseFromString(stmt.Blob(0))) return Status::DataLoss("case unreadable");
    c->set_status(static_cast<v1::CaseStatus>(stmt.Int(1)));
    c->set_status_changed_at_ms(stmt.Int(2));
  }
}

Result<v1::AuditLog> SqlStore::Audit() {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  v1::AuditLog log;
  sql::Statement stmt(
      reader,
      "SELECT id, at_ms, actor, action, target, before, after, reason FROM audit_log "
      "ORDER BY id");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return log;
    v1::AuditEntry* e = log.add_entries();
    e->set_id(static_cast<uint64_t>(stmt.Int(0)));
    e->set_at_ms(stmt.Int(1));
    e->set_actor(stmt.Text(2));
    e->set_action(stmt.Text(3));
    e->set_target(stmt.Text(4));
    e->set_before(stmt.Text(5));
    e->set_after(stmt.Text(6));
    e->set_reason(stmt.Text(7));
  }
}

Status SqlStore::ForEachMaster(const std::function<void(const v1::MasterRecord&)>& row) {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(reader, "SELECT master FROM masters ORDER BY station_code, form_id");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool more, stmt.Step());
    if (!more) return Status::Ok();
    v1::MasterRecord master;
    if (!master.ParseFromString(stmt.Blob(0))) return Status::DataLoss("master unreadable");
    row(master);
  }
}

}  // namespace vigil::syncd
