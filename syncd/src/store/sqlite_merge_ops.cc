// The writer-side half of merge (docs/merge.md): everything here runs inside the writer's
// group transaction, so a batch's records and their merged effects commit together or not
// at all (docs/architecture.md §4 step 6). The rules themselves are pure functions in src/merge/.
//
// NOTES ON THE MERGE TABLES
//
//  1. merge_latest holds, per (station, form, observer), the submission that is the
//     observer's latest by (finalized_at_ms, submission_id) (merge/master.h M2). A stored
//     submission replaces the row only when it supersedes it, so the row is the maximum of
//     the set whatever the arrival order. The observer is the device's enrolled observer.
//  2. masters and conflicts are a function of merge_latest and overrides, rewritten together
//     by RecomputeMaster when the master's deterministic bytes change; a batch recomputes each
//     (station, form) it touched once, after its records. The master's QA flags live in the
//     master; qa_flags holds each stored submission's flags, appended once (a function of
//     the immutable submission alone).
//     masters.status is the (station, form) coverage status; masters also carries the
//     station's area (copied here, kept current by ImportStations) for the roll-up index.
//  3. cases and case_members are a function of the incident records of one station and the
//     window (setting incident_window_ms), rewritten together by RecomputeCases.
//  4. case_status is keyed by case id and never recomputed from reports; when clusters merge,
//     the surviving case id takes the status furthest along new -> verified -> escalated ->
//     resolved (rejected ranks below new) among the cases it absorbed, logged as case.merge.
//  5. overrides change only by SetOverride, which logs in audit_log in the same transaction.
//  Records are never updated or deleted; audit_log is append-only (triggers).
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>

#include "merge/cases.h"
#include "merge/master.h"
#include "merge/value_text.h"
#include "records/record_rules.h"
#include "store/sql_store.h"
#include "store/sqlite_rows.h"

namespace vigil::syncd {
namespace {

// Rank of a status when merged cases pick one (note 4).
int MergeRank(v1::CaseStatus status) {
  switch (status) {
    case v1::CASE_VERIFIED:
      return 2;
    case v1::CASE_ESCALATED:
      return 3;
    case v1::CASE_RESOLVED:
      return 4;
    case v1::CASE_REJECTED:
      return 0;
    default:
      return 1;
  }
}

std::string StatusName(v1::CaseStatus status) { return v1::CaseStatus_Name(status); }

}  // namespace

sql::Statement& SqlStore::Cached(sql::Connection& db, const char* sql) {
  std::unique_ptr<sql::Statement>& slot = writer_statements_[sql];
  // A statement whose preparation failed (e.g. behind a queued write that failed, sql.h) is
  // prepared again next time, never kept broken.
  if (slot == nullptr || !slot->status().ok()) slot = std::make_unique<sql::Statement>(db, sql);
  slot->Reset();
  return *slot;
}

Result<const protocol::Form*> SqlStore::CompiledForm(sql::Connection& db,
                                                     const std::string& form_id, uint32_t version) {
  auto key = std::make_pair(form_id, version);
  auto it = forms_.find(key);
  if (it != forms_.end()) return static_cast<const protocol::Form*>(it->second.get());
  sql::Statement& get =
      Cached(db, "SELECT definition FROM forms WHERE form_id = ? AND version = ?");
  get.BindText(1, form_id).Bind(2, version);
  VIGIL_ASSIGN_OR_RETURN(bool row, get.Step());
  if (!row) return static_cast<const protocol::Form*>(nullptr);
  v1::FormDefinition definition;
  if (!definition.ParseFromString(get.Blob(0))) return Status::DataLoss("stored form unreadable");
  get.Reset();
  // A stored definition that does not compile (PublishForm stores what it is given) merges
  // as an unknown form: no QA checks, nothing required. Reports are never refused for it.
  Result<protocol::Form> form = protocol::Form::Compile(std::move(definition));
  if (!form.ok()) return static_cast<const protocol::Form*>(nullptr);
  auto& slot = forms_[key];
  slot = std::make_unique<protocol::Form>(std::move(form).value());
  return static_cast<const protocol::Form*>(slot.get());
}

Status SqlStore::MergeSubmission(sql::Connection& db, const v1::Submission& submission,
                                 const std::string& device_id, const std::string& observer_id,
                                 DirtyMasters& dirty, LatestAhead* ahead) {
  VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                         CompiledForm(db, submission.form_id(), submission.form_version()));
  if (form != nullptr && form->definition().kind() != v1::CHECKLIST) return Status::Ok();
  if (form != nullptr && !form->definition().qa_checks().empty()) {
    sql::Statement& flag =
        Cached(db,
               "INSERT INTO qa_flags(station_code, form_id, submission_id, check_id, "
               "flag) VALUES (?, ?, ?, ?, ?)");
    for (const v1::QaFlag& f : merge::SubmissionQaFlags(submission, *form)) {
      flag.Reset();
      flag.BindText(1, f.station_code()).BindText(2, f.form_id()).BindText(3, f.submission_id());
      flag.BindText(4, f.check_id()).BindBlob(5, DeterministicBytes(f));
      VIGIL_RETURN_IF_ERROR(flag.Queue());
    }
  }
  if (submission.has_location()) {  // M9.
    VIGIL_ASSIGN_OR_RETURN(std::optional<merge::StationPlace> place,
                           StationPlaceOf(db, submission.station_code()));
    std::optional<v1::QaFlag> far;
    if (place) far = merge::FarFromStationFlag(submission, *place);
    if (far) {
      sql::Statement& flag =
          Cached(db,
                 "INSERT INTO qa_flags(station_code, form_id, submission_id, check_id, "
                 "flag) VALUES (?, ?, ?, ?, ?)");
      flag.BindText(1, far->station_code()).BindText(2, far->form_id());
      flag.BindText(3, far->submission_id()).BindText(4, far->check_id());
      flag.BindBlob(5, DeterministicBytes(*far));
      VIGIL_RETURN_IF_ERROR(flag.Queue());
    }
  }
  const std::pair<std::string, std::string> key(submission.station_code(), submission.form_id());
  if (ahead != nullptr &&
      (ahead->observer_id != observer_id || ahead->stations.count(key.first) == 0)) {
    ahead = nullptr;  // Not read ahead: ask the database.
  }
  std::optional<std::pair<std::string, int64_t>> latest_now;
  if (ahead != nullptr) {
    auto it = ahead->rows.find(key);
    if (it != ahead->rows.end()) latest_now = it->second;
  } else {
    sql::Statement& latest = Cached(db,
                                    "SELECT submission_id, finalized_at_ms FROM merge_latest WHERE "
                                    "station_code = ? AND form_id = ? AND observer_id = ?");
    latest.Reset();
    latest.BindText(1, key.first).BindText(2, key.second).BindText(3, observer_id);
    VIGIL_ASSIGN_OR_RETURN(bool found, latest.Step());
    if (found) latest_now.emplace(latest.Text(0), latest.Int(1));
    latest.Reset();
  }
  if (latest_now) {
    v1::Submission current;
    current.set_submission_id(latest_now->first);
    current.set_finalized_at_ms(latest_now->second);
    if (!merge::Supersedes(submission, current)) return Status::Ok();
  }
  sql::Statement& put =
      Cached(db,
             "INSERT INTO merge_latest(station_code, form_id, observer_id, submission_id, "
             "device_id, finalized_at_ms) VALUES (?, ?, ?, ?, ?, ?) "
             "ON CONFLICT(station_code, form_id, observer_id) DO UPDATE SET "
             "submission_id = excluded.submission_id, device_id = excluded.device_id, "
             "finalized_at_ms = excluded.finalized_at_ms "
             // merge::Supersedes again, in case another node wrote the row meanwhile.
             "WHERE excluded.finalized_at_ms > merge_latest.finalized_at_ms OR "
             "(excluded.finalized_at_ms = merge_latest.finalized_at_ms AND "
             "excluded.submission_id > merge_latest.submission_id)");
  put.Reset();
  put.BindText(1, key.first).BindText(2, key.second);
  put.BindText(3, observer_id).BindText(4, submission.submission_id()).BindText(5, device_id);
  put.Bind(6, submission.finalized_at_ms());
  VIGIL_RETURN_IF_ERROR(put.Queue());
  if (ahead != nullptr) {
    ahead->rows[key] = {submission.submission_id(), submission.finalized_at_ms()};
  }
  dirty.insert(key);
  return Status::Ok();
}

Result<std::optional<merge::StationPlace>> SqlStore::StationPlaceOf(
    sql::Connection& db, const std::string& station_code) {
  sql::Statement& where = Cached(db,
                                 "SELECT s.lat, s.lon, (SELECT value FROM settings WHERE key = "
                                 "'far_from_station_m') FROM stations s WHERE s.code = ?");
  where.BindText(1, station_code);
  VIGIL_ASSIGN_OR_RETURN(bool row, where.Step());
  if (!row || where.IsNull(0) || where.IsNull(1)) return std::optional<merge::StationPlace>();
  merge::StationPlace place;
  place.latitude = where.Double(0);
  place.longitude = where.Double(1);
  place.max_distance_m = merge::kDefaultFarFromStationM;
  if (!where.IsNull(2)) {
    const std::string text = where.Blob(2);
    char* end = nullptr;
    place.max_distance_m = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !(place.max_distance_m >= 0)) {
      return Status::FailedPrecondition("setting far_from_station_m is not a distance in metres");
    }
  }
  where.Reset();
  return std::optional<merge::StationPlace>(place);
}

Result<v1::MasterRecord> SqlStore::RecomputeMaster(sql::Connection& db,
                                                   const std::string& station_code,
                                                   const std::string& form_id) {
  std::vector<merge::SubmissionInput> inputs;
  sql::Statement& latest = Cached(db,
                                  "SELECT r.bytes, m.observer_id, m.device_id FROM merge_latest m "
                                  "JOIN records r ON r.record_id = m.submission_id "
                                  "WHERE m.station_code = ? AND m.form_id = ?");
  latest.BindText(1, station_code).BindText(2, form_id);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, latest.Step());
    if (!row) break;
    v1::Record record;
    if (!record.ParseFromString(latest.Blob(0))) return Status::DataLoss("record unreadable");
    inputs.push_back({std::move(*record.mutable_submission()), latest.Text(1), latest.Text(2)});
  }
  std::vector<v1::Override> overrides;
  sql::Statement& over =
      Cached(db, "SELECT override FROM overrides WHERE station_code = ? AND form_id = ?");
  over.BindText(1, station_code).BindText(2, form_id);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, over.Step());
    if (!row) break;
    if (!overrides.emplace_back().ParseFromString(over.Blob(0))) {
      return Status::DataLoss("override unreadable");
    }
  }
  uint32_t default_version = 0;
  if (inputs.empty()) {
    sql::Statement& newest = Cached(db, "SELECT max(version) FROM forms WHERE form_id = ?");
    newest.BindText(1, form_id);
    VIGIL_ASSIGN_OR_RETURN(bool row, newest.Step());
    if (row && !newest.IsNull(0)) default_version = static_cast<uint32_t>(newest.Int(0));
    newest.Reset();
  }
  Status lookup_failure;
  merge::FormLookup form_of = [&](uint32_t version) -> const protocol::Form* {
    Result<const protocol::Form*> form = CompiledForm(db, form_id, version);
    if (!form.ok()) {
      lookup_failure = form.status();
      return nullptr;
    }
    return *form;
  };
  v1::MasterRecord master =
      merge::ComputeMaster(station_code, form_id, inputs, overrides, form_of, default_version);
  VIGIL_RETURN_IF_ERROR(lookup_failure);
  // M9 on the master: the latest submissions filed far from the station.
  if (std::any_of(inputs.begin(), inputs.end(),
                  [](const merge::SubmissionInput& in) { return in.submission.has_location(); })) {
    VIGIL_ASSIGN_OR_RETURN(std::optional<merge::StationPlace> place,
                           StationPlaceOf(db, station_code));
    for (const merge::SubmissionInput& in : inputs) {
      if (!place) break;
      if (std::optional<v1::QaFlag> far = merge::FarFromStationFlag(in.submission, *place)) {
        *master.add_qa_flags() = std::move(*far);
      }
    }
  }
  std::string bytes = DeterministicBytes(master);

  sql::Statement& stored =
      Cached(db, "SELECT master FROM masters WHERE station_code = ? AND form_id = ?");
  stored.BindText(1, station_code).BindText(2, form_id);
  VIGIL_ASSIGN_OR_RETURN(bool had, stored.Step());
  if (had && stored.Blob(0) == bytes) return master;
  stored.Reset();

  if (master.status() == v1::COVERAGE_MISSING) {
    sql::Statement& drop = Cached(db, "DELETE FROM masters WHERE station_code = ? AND form_id = ?");
    drop.BindText(1, station_code).BindText(2, form_id);
    VIGIL_RETURN_IF_ERROR(drop.Queue());
  } else {
    sql::Statement& put =
        Cached(db,
               "INSERT INTO masters(station_code, form_id, form_version, status, master, "
               "updated_at_ms, province, district, commune) "
               "SELECT ?1, ?2, ?3, ?4, ?5, ?6, s.province, s.district, s.commune "
               "FROM (SELECT 1) AS one LEFT JOIN stations s ON s.code = ?1 WHERE true "
               "ON CONFLICT(station_code, form_id) DO UPDATE SET "
               "form_version = excluded.form_version, status = excluded.status, "
               "master = excluded.master, updated_at_ms = excluded.updated_at_ms, "
               "province = excluded.province, district = excluded.district, "
               "commune = excluded.commune");
    put.BindText(1, station_code).BindText(2, form_id).Bind(3, master.form_version());
    put.Bind(4, master.status()).BindBlob(5, bytes).Bind(6, NowMs());
    VIGIL_RETURN_IF_ERROR(put.Queue());
  }
  sql::Statement& clear_conflicts =
      Cached(db, "DELETE FROM conflicts WHERE station_code = ? AND form_id = ?");
  clear_conflicts.BindText(1, station_code).BindText(2, form_id);
  VIGIL_RETURN_IF_ERROR(clear_conflicts.Queue());
  sql::Statement& conflict = Cached(db,
                                    "INSERT INTO conflicts(station_code, form_id, question_id, "
                                    "conflict) VALUES (?, ?, ?, ?)");
  for (const v1::FieldConflict& c : master.conflicts()) {
    if (c.overridden()) continue;
    conflict.Reset();
    conflict.BindText(1, station_code).BindText(2, form_id).BindText(3, c.question_id());
    conflict.BindBlob(4, DeterministicBytes(c));
    VIGIL_RETURN_IF_ERROR(conflict.Queue());
  }
  return master;
}

Status SqlStore::RecomputeCases(sql::Connection& db, const std::string& station_code) {
  int64_t window_ms = merge::kDefaultIncidentWindowMs;
  {
    sql::Statement& setting =
        Cached(db, "SELECT value FROM settings WHERE key = 'incident_window_ms'");
    VIGIL_ASSIGN_OR_RETURN(bool row, setting.Step());
    if (row) {
      try {
        window_ms = std::stoll(setting.Blob(0));
      } catch (const std::exception&) {
        return Status::FailedPrecondition("setting incident_window_ms is not a number");
      }
    }
    setting.Reset();
  }
  std::vector<merge::IncidentInput> inputs;
  sql::Statement& load = Cached(db,
                                "SELECT r.bytes, r.device_id, d.observer_id FROM records r "
                                "JOIN devices d ON d.device_id = r.device_id "
                                "WHERE r.station_code = ? AND r.kind = 'incident' AND "
                                "NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.record_id = "
                                "r.record_id AND q.released_at_ms IS NULL)");
  load.BindText(1, station_code);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, load.Step());
    if (!row) break;
    v1::Record record;
    if (!record.ParseFromString(load.Blob(0))) return Status::DataLoss("record unreadable");
    inputs.push_back({std::move(*record.mutable_incident()), load.Text(2), load.Text(1)});
  }
  std::vector<v1::Case> cases = merge::ClusterIncidents(inputs, window_ms);

  std::map<std::string, std::string> old_case_of;  // incident id -> case id before
  sql::Statement& members =
      Cached(db, "SELECT incident_id, case_id FROM case_members WHERE station_code = ?");
  members.BindText(1, station_code);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, members.Step());
    if (!row) break;
    old_case_of[members.Text(0)] = members.Text(1);
  }
  sql::Statement& status_of = Cached(db, "SELECT status FROM case_status WHERE case_id = ?");
  auto current_status = [&](const std::string& case_id) -> Result<std::optional<v1::CaseStatus>> {
    status_of.Reset();
    status_of.BindText(1, case_id);
    VIGIL_ASSIGN_OR_RETURN(bool row, status_of.Step());
    if (!row) return std::optional<v1::CaseStatus>();
    auto status = static_cast<v1::CaseStatus>(status_of.Int(0));
    status_of.Reset();
    return std::optional<v1::CaseStatus>(status);
  };
  for (const v1::Case& c : cases) {
    std::set<std::string> absorbed;
    for (const v1::CaseEvent& e : c.timeline()) {
      auto it = old_case_of.find(e.incident_id());
      if (it != old_case_of.end() && it->second != c.case_id()) absorbed.insert(it->second);
    }
    if (absorbed.empty()) continue;
    VIGIL_ASSIGN_OR_RETURN(std::optional<v1::CaseStatus> own, current_status(c.case_id()));
    v1::CaseStatus winner = own.value_or(v1::CASE_NEW);
    bool any_set = own.has_value();
    std::string before = c.case_id() + "=" + StatusName(winner);
    for (const std::string& id : absorbed) {
      VIGIL_ASSIGN_OR_RETURN(std::optional<v1::CaseStatus> theirs, current_status(id));
      v1::CaseStatus status = theirs.value_or(v1::CASE_NEW);
      any_set = any_set || theirs.has_value();
      before += " " + id + "=" + StatusName(status);
      if (MergeRank(status) > MergeRank(winner)) winner = status;
    }
    if (!any_set) continue;  // Only coordinators' statuses need carrying over.
    if (winner != own.value_or(v1::CASE_NEW) || !own.has_value()) {
      sql::Statement& put =
          Cached(db,
                 "INSERT INTO case_status(case_id, status, changed_at_ms, changed_by) "
                 "VALUES (?, ?, ?, 'merge') ON CONFLICT(case_id) DO UPDATE SET "
                 "status = excluded.status, changed_at_ms = excluded.changed_at_ms, "
                 "changed_by = excluded.changed_by");
      put.BindText(1, c.case_id()).Bind(2, winner).Bind(3, NowMs());
      VIGIL_RETURN_IF_ERROR(put.Queue());
    }
    VIGIL_RETURN_IF_ERROR(AppendAuditEntry(db, "merge", "case.merge", c.case_id(), before,
                                           StatusName(winner), "reports joined one case"));
  }

  sql::Statement& clear_members = Cached(db, "DELETE FROM case_members WHERE station_code = ?");
  clear_members.BindText(1, station_code);
  VIGIL_RETURN_IF_ERROR(clear_members.Queue());
  sql::Statement& clear_cases = Cached(db, "DELETE FROM cases WHERE station_code = ?");
  clear_cases.BindText(1, station_code);
  VIGIL_RETURN_IF_ERROR(clear_cases.Queue());
  sql::Statement& put_case =
      Cached(db,
             "INSERT INTO cases(case_id, station_code, first_occurred_at_ms, "
             "body) VALUES (?, ?, ?, ?)");
  sql::Statement& put_member =
      Cached(db,
             "INSERT INTO case_members(incident_id, case_id, station_code, "
             "device_id) VALUES (?, ?, ?, ?)");
  for (const v1::Case& c : cases) {
    put_case.Reset();
    put_case.BindText(1, c.case_id()).BindText(2, station_code);
    put_case.Bind(3, c.first_occurred_at_ms()).BindBlob(4, DeterministicBytes(c));
    VIGIL_RETURN_IF_ERROR(put_case.Queue());
    for (const v1::CaseEvent& e : c.timeline()) {
      put_member.Reset();
      put_member.BindText(1, e.incident_id()).BindText(2, c.case_id());
      put_member.BindText(3, station_code).BindText(4, e.device_id());
      VIGIL_RETURN_IF_ERROR(put_member.Queue());
    }
  }
  return Status::Ok();
}

Status SqlStore::AddIncidentStatuses(sql::Connection& db, const std::string& device_id,
                                     v1::PullResponse& response) {
  sql::Statement& stmt = Cached(db,
                                "SELECT m.incident_id, m.case_id, coalesce(s.status, 1), "
                                "coalesce(s.changed_at_ms, 0) FROM case_members m "
                                "LEFT JOIN case_status s ON s.case_id = m.case_id "
                                "WHERE m.device_id = ? ORDER BY m.incident_id LIMIT 1000");
  stmt.BindText(1, device_id);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status::Ok();
    v1::IncidentStatus* s = response.add_incident_statuses();
    s->set_incident_id(stmt.Text(0));
    s->set_case_id(stmt.Text(1));
    s->set_status(static_cast<v1::CaseStatus>(stmt.Int(2)));
    s->set_changed_at_ms(stmt.Int(3));
  }
}
Status SqlStore::ReplayMerge(sql::Connection& db) {
  // The rules depend only on the set of records, so replaying them in any order gives what
  // merging them on arrival would have given.
  std::set<std::string> incident_stations;
  DirtyMasters dirty;
  sql::Statement all(db,
                     "SELECT r.bytes, r.device_id, d.observer_id FROM records r "
                     "JOIN devices d ON d.device_id = r.device_id WHERE NOT EXISTS (SELECT 1 FROM "
                     "quarantine q WHERE q.record_id = r.record_id AND q.released_at_ms IS NULL)");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, all.Step());
    if (!row) break;
    v1::Record record;
    if (!record.ParseFromString(all.Blob(0))) return Status::DataLoss("record unreadable");
    if (record.has_submission()) {
      VIGIL_RETURN_IF_ERROR(
          MergeSubmission(db, record.submission(), all.Text(1), all.Text(2), dirty));
    } else if (record.has_incident()) {
      incident_stations.insert(record.incident().station_code());
    }
  }
  for (const auto& [station, form] : dirty) {
    VIGIL_RETURN_IF_ERROR(RecomputeMaster(db, station, form).status());
  }
  for (const std::string& station : incident_stations) {
    VIGIL_RETURN_IF_ERROR(RecomputeCases(db, station));
  }
  return Status::Ok();
}

}  // namespace vigil::syncd
