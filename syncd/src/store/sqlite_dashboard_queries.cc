// The read-only queries behind the coordinators' dashboard (docs/dashboard.md): overview,
// coverage drill-down, station page, case list, device list and alerts. Every list is paged
// here, in SQL or over a bounded set, so that no answer grows with the country.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "merge/cases.h"
#include "store/sql_store.h"
#include "store/sqlite_rows.h"

namespace vigil::syncd {
namespace {

constexpr uint32_t kMaxPageSize = 200;
constexpr int64_t kMinutesShown = 24 * 60;
constexpr int64_t kHourMs = 3600 * 1000;

// Clamps a page request: page ≥ 1, 1 ≤ page_size ≤ kMaxPageSize.
PageRequest Clamp(PageRequest page) {
  page.page = std::max<uint32_t>(page.page, 1);
  page.page_size = std::clamp<uint32_t>(page.page_size, 1, kMaxPageSize);
  return page;
}

int64_t Offset(const PageRequest& page) {
  return static_cast<int64_t>(page.page - 1) * page.page_size;
}

void AddStatus(v1::CoverageRow& row, int status, uint64_t n) {
  row.set_stations(row.stations() + n);
  switch (status) {
    case v1::COVERAGE_PARTIAL:
      row.set_partial(row.partial() + n);
      break;
    case v1::COVERAGE_COMPLETE:
      row.set_complete(row.complete() + n);
      break;
    case v1::COVERAGE_CONFLICT:
      row.set_conflict(row.conflict() + n);
      break;
    default:
      row.set_missing(row.missing() + n);
      break;
  }
}

void AddCounts(v1::CoverageRow& sum, const v1::CoverageRow& row) {
  sum.set_stations(sum.stations() + row.stations());
  sum.set_missing(sum.missing() + row.missing());
  sum.set_partial(sum.partial() + row.partial());
  sum.set_complete(sum.complete() + row.complete());
  sum.set_conflict(sum.conflict() + row.conflict());
}

// The title of a form in `lang`, else in any language.
std::string Title(const v1::FormDefinition& form, const std::string& lang) {
  auto it = form.title().find(lang);
  if (it != form.title().end()) return it->second;
  return form.title().empty() ? form.form_id() : form.title().begin()->second;
}

Status ReadCase(const sql::Statement& stmt, int column, v1::Case& out) {
  if (!out.ParseFromString(stmt.Blob(column))) return Status::DataLoss("case unreadable");
  out.set_status(static_cast<v1::CaseStatus>(stmt.Int(column + 1)));
  out.set_status_changed_at_ms(stmt.Int(column + 2));
  return Status::Ok();
}

// The columns of a device row, in the order FillDeviceRow reads them.
constexpr const char* kDeviceColumns =
    "d.device_id, d.observer_id, d.status, d.revoked_reason, d.last_seq, d.last_seen_ms, "
    "d.clock_offset_ms, d.pending_records, d.enrolled_at_ms, d.device_info, "
    "coalesce(o.name, '')";

Status FillDeviceRow(sql::Connection& db, const sql::Statement& stmt, v1::DeviceRow& row) {
  v1::DeviceSummary* d = row.mutable_device();
  d->set_device_id(stmt.Text(0));
  d->set_observer_id(stmt.Text(1));
  d->set_status(stmt.Text(2));
  d->set_revoked_reason(stmt.Text(3));
  d->set_last_seq(static_cast<uint64_t>(stmt.Int(4)));
  d->set_last_seen_ms(stmt.Int(5));
  d->set_clock_offset_ms(stmt.Int(6));
  d->set_pending_records(static_cast<uint32_t>(stmt.Int(7)));
  d->set_enrolled_at_ms(stmt.Int(8));
  v1::DeviceInfo info;
  if (info.ParseFromString(stmt.Blob(9))) row.set_model(info.model());
  row.set_observer_name(stmt.Text(10));
  sql::Statement stations(db,
                          "SELECT station_code FROM assignments WHERE observer_id = ? "
                          "ORDER BY station_code LIMIT 100");
  stations.BindText(1, d->observer_id());
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool more, stations.Step());
    if (!more) return Status::Ok();
    row.add_station_codes(stations.Text(0));
  }
}

}  // namespace

Result<v1::FormCatalog> SqlStore::FormCatalog() {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  v1::FormCatalog catalog;
  sql::Statement stmt(
      reader,
      "SELECT definition FROM forms f WHERE version = "
      "(SELECT max(version) FROM forms g WHERE g.form_id = f.form_id) ORDER BY form_id");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return catalog;
    if (!catalog.add_forms()->ParseFromString(stmt.Blob(0))) {
      return Status::DataLoss("form definition unreadable");
    }
  }
}

Result<v1::Overview> SqlStore::Overview(int64_t silent_after_ms) {
  v1::Overview overview;
  const int64_t now = NowMs();
  overview.set_generated_at_ms(now);
  overview.set_silent_after_ms(silent_after_ms);
  VIGIL_ASSIGN_OR_RETURN(v1::FormCatalog catalog, FormCatalog());
  CoverageQuery query;
  query.level = "province";
  query.list_silent = false;
  VIGIL_ASSIGN_OR_RETURN(v1::CoverageReport coverage, Coverage(query));
  std::map<std::string, v1::FormCoverage> forms;
  for (const v1::FormDefinition& form : catalog.forms()) {
    if (form.kind() != v1::CHECKLIST) continue;
    v1::FormCoverage& f = forms[form.form_id()];
    f.set_form_id(form.form_id());
    f.set_title_en(Title(form, "en"));
    f.set_title_km(Title(form, "km"));
  }
  for (const v1::CoverageRow& row : coverage.rows()) {
    auto it = forms.find(row.form_id());
    if (it == forms.end()) continue;
    if (row.level() == "nation") {
      *it->second.mutable_nation() = row;
    } else {
      *it->second.add_provinces() = row;
    }
  }
  for (auto& [id, f] : forms) *overview.add_forms() = std::move(f);

  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  {
    sql::Statement minutes(
        reader,
        "SELECT minute, kind, count FROM minute_counts WHERE minute >= "
        "(SELECT coalesce(max(minute), 0) FROM minute_counts) - ? ORDER BY minute");
    minutes.Bind(1, kMinutesShown - 1);
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, minutes.Step());
      if (!row) break;
      const int64_t start = minutes.Int(0) * 60000;
      if (overview.reports_per_minute().empty() ||
          overview.reports_per_minute().rbegin()->minute_start_ms() != start) {
        overview.add_reports_per_minute()->set_minute_start_ms(start);
      }
      v1::MinuteCount* m =
          overview.mutable_reports_per_minute()->Mutable(overview.reports_per_minute_size() - 1);
      const auto n = static_cast<uint32_t>(minutes.Int(2));
      if (minutes.Text(1) == "incident") {
        m->set_incidents(m->incidents() + n);
      } else {
        m->set_submissions(m->submissions() + n);
      }
    }
  }
  {
    sql::Statement totals(reader, "SELECT kind, sum(count) FROM minute_counts GROUP BY kind");
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, totals.Step());
      if (!row) break;
      const auto n = static_cast<uint64_t>(totals.Int(1));
      if (totals.Text(0) == "incident") {
        overview.set_incidents(n);
      } else {
        overview.set_submissions(n);
      }
    }
  }
  {
    sql::Statement last(reader, "SELECT received_at_ms FROM records ORDER BY rowid DESC LIMIT 1");
    VIGIL_ASSIGN_OR_RETURN(bool row, last.Step());
    if (row) overview.set_last_report_at_ms(last.Int(0));
  }
  {
    std::map<std::string, uint32_t> open;
    sql::Statement cases(reader,
                         "SELECT c.body, coalesce(s.status, 1), coalesce(s.changed_at_ms, 0) "
                         "FROM cases c LEFT JOIN case_status s ON s.case_id = c.case_id "
                         "WHERE coalesce(s.status, 1) IN (1, 2, 3)");
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, cases.Step());
      if (!row) break;
      v1::Case c;
      VIGIL_RETURN_IF_ERROR(ReadCase(cases, 0, c));
      ++open[c.severity()];
      overview.set_open_cases_total(overview.open_cases_total() + 1);
    }
    for (const char* severity : {"critical", "high", "medium", "low"}) {
      v1::SeverityCount* s = overview.add_open_cases();
      s->set_severity(severity);
      s->set_open(open[severity]);
    }
  }
  auto count = [&](const char* sql, int64_t bound) -> Result<uint64_t> {
    sql::Statement stmt(reader, sql);
    if (bound != 0) stmt.Bind(1, bound);
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    return row ? static_cast<uint64_t>(stmt.Int(0)) : 0;
  };
  VIGIL_ASSIGN_OR_RETURN(uint64_t silent,
                         count("SELECT count(*) FROM assignments a LEFT JOIN devices d ON "
                               "d.observer_id = a.observer_id AND d.status = 'active' "
                               "WHERE coalesce(d.last_seen_ms, 0) < ?",
                               now - silent_after_ms));
  overview.set_silent_observers(static_cast<uint32_t>(silent));
  VIGIL_ASSIGN_OR_RETURN(uint64_t stations, count("SELECT count(*) FROM stations", 0));
  overview.set_stations(stations);
  VIGIL_ASSIGN_OR_RETURN(uint64_t active,
                         count("SELECT count(*) FROM devices WHERE status = 'active'", 0));
  VIGIL_ASSIGN_OR_RETURN(uint64_t revoked,
                         count("SELECT count(*) FROM devices WHERE status = 'revoked'", 0));
  overview.set_active_devices(static_cast<uint32_t>(active));
  overview.set_revoked_devices(static_cast<uint32_t>(revoked));
  VIGIL_ASSIGN_OR_RETURN(uint64_t alerts,
                         count("SELECT count(*) FROM alerts WHERE last_at_ms >= ?", now - kHourMs));
  overview.set_alerts_last_hour(static_cast<uint32_t>(alerts));
  return overview;
}

Result<v1::CoveragePage> SqlStore::CoverageDrill(const CoverageDrillQuery& query) {
  static const char* const kLevels[] = {"province", "district", "commune", "station"};
  if (std::find(std::begin(kLevels), std::end(kLevels), query.level) == std::end(kLevels)) {
    return Status::InvalidArgument("level must be province, district, commune or station");
  }
  if (query.form_id.empty()) return Status::InvalidArgument("say which form (form=…)");
  if ((query.level == "district" && query.province.empty()) ||
      (query.level == "commune" && (query.province.empty() || query.district.empty()))) {
    return Status::InvalidArgument("level " + query.level + " needs its parent area");
  }
  const PageRequest page = Clamp(query.page);
  v1::CoveragePage out;
  out.set_form_id(query.form_id);
  out.set_level(query.level);
  out.set_province(query.province);
  out.set_district(query.district);
  out.set_commune(query.commune);
  out.set_page(page.page);
  out.set_page_size(page.page_size);
  v1::CoverageRow& parent = *out.mutable_parent();
  parent.set_form_id(query.form_id);
  parent.set_level(
      query.commune.empty()
          ? (query.district.empty() ? (query.province.empty() ? "nation" : "province") : "district")
          : "commune");
  parent.set_area(query.commune.empty() ? (query.district.empty() ? query.province : query.district)
                                        : query.commune);

  if (query.level != "station") {
    CoverageQuery coverage_query;
    coverage_query.form_id = query.form_id;
    coverage_query.level = query.level;
    coverage_query.list_silent = false;
    VIGIL_ASSIGN_OR_RETURN(v1::CoverageReport report, Coverage(coverage_query));
    std::string prefix;
    if (query.level == "district") prefix = query.province + " / ";
    if (query.level == "commune") prefix = query.province + " / " + query.district + " / ";
    std::vector<v1::CoverageRow> children;
    for (const v1::CoverageRow& row : report.rows()) {
      if (row.level() == "nation" || row.area().compare(0, prefix.size(), prefix) != 0) continue;
      v1::CoverageRow child = row;
      child.set_area(row.area().substr(prefix.size()));
      AddCounts(parent, child);
      children.push_back(std::move(child));
    }
    FillPercentages(parent);
    out.set_total(static_cast<uint32_t>(children.size()));
    const auto first = static_cast<size_t>(Offset(page));
    for (size_t i = first; i < children.size() && i < first + page.page_size; ++i) {
      *out.add_areas() = std::move(children[i]);
    }
    return out;
  }

  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  // ?1 form, ?2-?4 area, ?5 status (0: any), ?6 code or name prefix.
  const std::string where =
      "FROM stations s LEFT JOIN masters m ON m.station_code = s.code AND m.form_id = ?1 "
      "WHERE (?2 = '' OR s.province = ?2) AND (?3 = '' OR s.district = ?3) "
      "AND (?4 = '' OR s.commune = ?4) AND (?5 = 0 OR coalesce(m.status, 1) = ?5) "
      "AND (?6 = '' OR substr(s.code, 1, length(?6)) = ?6 OR substr(s.name, 1, length(?6)) = ?6)";
  auto bind = [&](sql::Statement& stmt, int status) {
    stmt.BindText(1, query.form_id).BindText(2, query.province).BindText(3, query.district);
    stmt.BindText(4, query.commune).Bind(5, status).BindText(6, query.prefix);
  };
  {
    sql::Statement counts(reader, "SELECT coalesce(m.status, 1), count(*) " + where +
                                      " GROUP BY coalesce(m.status, 1)");
    bind(counts, 0);
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, counts.Step());
      if (!row) break;
      const int status = static_cast<int>(counts.Int(0));
      const auto n = static_cast<uint64_t>(counts.Int(1));
      AddStatus(parent, status, n);
      if (query.status == v1::COVERAGE_STATUS_UNSPECIFIED || query.status == status) {
        out.set_total(out.total() + static_cast<uint32_t>(n));
      }
    }
    FillPercentages(parent);
  }
  sql::Statement stations(reader,
                          "SELECT s.code, s.name, s.province, s.district, s.commune, "
                          "coalesce(m.status, 1), m.master, coalesce(m.updated_at_ms, 0) " +
                              where + " ORDER BY s.code LIMIT ?7 OFFSET ?8");
  bind(stations, query.status);
  stations.Bind(7, page.page_size).Bind(8, Offset(page));
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stations.Step());
    if (!row) return out;
    v1::StationCoverage* s = out.add_stations();
    s->set_station_code(stations.Text(0));
    s->set_name(stations.Text(1));
    s->set_province(stations.Text(2));
    s->set_district(stations.Text(3));
    s->set_commune(stations.Text(4));
    s->set_form_id(query.form_id);
    s->set_status(static_cast<v1::CoverageStatus>(stations.Int(5)));
    s->set_updated_at_ms(stations.Int(7));
    if (!stations.IsNull(6)) {
      v1::MasterRecord master;
      if (!master.ParseFromString(stations.Blob(6))) return Status::DataLoss("master unreadable");
      s->set_contributors(static_cast<uint32_t>(master.contributors_size()));
      uint32_t open = 0;
      for (const v1::FieldConflict& c : master.conflicts()) open += c.overridden() ? 0 : 1;
      s->set_conflicts(open);
      s->set_qa_flags(static_cast<uint32_t>(master.qa_flags_size()));
    }
  }
}

Result<v1::StationDetail> SqlStore::StationDetail(const std::string& station_code) {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  v1::StationDetail detail;
  {
    sql::Statement station(
        reader,
        "SELECT code, name, province, district, commune, registered_voters, lat, "
        "lon FROM stations WHERE code = ?");
    station.BindText(1, station_code);
    VIGIL_ASSIGN_OR_RETURN(bool row, station.Step());
    if (!row) return Status::NotFound("no station with code " + station_code);
    v1::Station* s = detail.mutable_station();
    s->set_code(station.Text(0));
    s->set_name(station.Text(1));
    s->set_province(station.Text(2));
    s->set_district(station.Text(3));
    s->set_commune(station.Text(4));
    s->set_registered_voters(static_cast<uint32_t>(station.Int(5)));
    if (!station.IsNull(6) && !station.IsNull(7)) {
      s->mutable_location()->set_latitude(station.Double(6));
      s->mutable_location()->set_longitude(station.Double(7));
    }
  }
  {
    sql::Statement masters(reader,
                           "SELECT master FROM masters WHERE station_code = ? ORDER BY form_id");
    masters.BindText(1, station_code);
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, masters.Step());
      if (!row) break;
      if (!detail.add_masters()->ParseFromString(masters.Blob(0))) {
        return Status::DataLoss("master unreadable");
      }
    }
  }
  std::set<std::string> latest;
  {
    sql::Statement stmt(reader, "SELECT submission_id FROM merge_latest WHERE station_code = ?");
    stmt.BindText(1, station_code);
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      latest.insert(stmt.Text(0));
    }
  }
  std::map<std::string, std::vector<v1::QaFlag>> flags;
  {
    sql::Statement stmt(reader, "SELECT submission_id, flag FROM qa_flags WHERE station_code = ?");
    stmt.BindText(1, station_code);
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      v1::QaFlag flag;
      if (!flag.ParseFromString(stmt.Blob(1))) return Status::DataLoss("QA flag unreadable");
      flags[stmt.Text(0)].push_back(std::move(flag));
    }
  }
  {
    sql::Statement subs(
        reader,
        "SELECT r.bytes, r.device_id, r.received_at_ms, d.observer_id FROM records r "
        "JOIN devices d ON d.device_id = r.device_id WHERE r.station_code = ? "
        "AND r.kind = 'submission' AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE "
        "q.record_id = r.record_id AND q.released_at_ms IS NULL) "
        "ORDER BY r.received_at_ms DESC, r.record_id LIMIT 200");
    subs.BindText(1, station_code);
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, subs.Step());
      if (!row) break;
      v1::Record record;
      if (!record.ParseFromString(subs.Blob(0))) return Status::DataLoss("record unreadable");
      v1::StationSubmission* s = detail.add_submissions();
      const std::string id = record.submission().submission_id();
      *s->mutable_submission() = std::move(*record.mutable_submission());
      s->mutable_submission()->set_observer_id(subs.Text(3));  // Enrolled, not claimed.
      s->set_device_id(subs.Text(1));
      s->set_received_at_ms(subs.Int(2));
      s->set_latest(latest.count(id) > 0);
      for (const v1::QaFlag& f : flags[id]) *s->add_qa_flags() = f;
    }
  }
  {
    sql::Statement cases(reader,
                         "SELECT c.body, coalesce(s.status, 1), coalesce(s.changed_at_ms, 0) "
                         "FROM cases c LEFT JOIN case_status s ON s.case_id = c.case_id "
                         "WHERE c.station_code = ? ORDER BY c.first_occurred_at_ms, c.case_id");
    cases.BindText(1, station_code);
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, cases.Step());
      if (!row) break;
      VIGIL_RETURN_IF_ERROR(ReadCase(cases, 0, *detail.add_cases()));
    }
  }
  sql::Statement observers(reader,
                           "SELECT observer_id FROM assignments WHERE station_code = ? "
                           "ORDER BY observer_id");
  observers.BindText(1, station_code);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, observers.Step());
    if (!row) return detail;
    detail.add_observer_ids(observers.Text(0));
  }
}

Result<v1::CasePage> SqlStore::CasePage(const CaseQuery& query) {
  const PageRequest page = Clamp(query.page);
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(
      reader,
      "SELECT c.body, coalesce(s.status, 1), coalesce(s.changed_at_ms, 0), "
      "coalesce(st.name, ''), coalesce(st.province, ''), coalesce(st.district, ''), "
      "coalesce(st.commune, '') FROM cases c "
      "LEFT JOIN case_status s ON s.case_id = c.case_id "
      "LEFT JOIN stations st ON st.code = c.station_code");
  std::vector<v1::CaseRow> rows;
  std::set<std::string> categories, provinces;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool more, stmt.Step());
    if (!more) break;
    v1::CaseRow row;
    VIGIL_RETURN_IF_ERROR(ReadCase(stmt, 0, *row.mutable_info()));
    row.set_station_name(stmt.Text(3));
    row.set_province(stmt.Text(4));
    row.set_district(stmt.Text(5));
    row.set_commune(stmt.Text(6));
    categories.insert(row.info().category());
    if (!row.province().empty()) provinces.insert(row.province());
    const v1::Case& c = row.info();
    if (!query.statuses.empty() && std::find(query.statuses.begin(), query.statuses.end(),
                                             c.status()) == query.statuses.end()) {
      continue;
    }
    if (!query.category.empty() && c.category() != query.category) continue;
    if (!query.province.empty() && row.province() != query.province) continue;
    if (!query.severity.empty() && c.severity() != query.severity) continue;
    row.mutable_info()->clear_timeline();
    rows.push_back(std::move(row));
  }
  // Most severe first, then the newest report first; the case id keeps the order total.
  std::sort(rows.begin(), rows.end(), [](const v1::CaseRow& a, const v1::CaseRow& b) {
    return std::make_tuple(-merge::SeverityRank(a.info().severity()),
                           -a.info().last_occurred_at_ms(), a.info().case_id()) <
           std::make_tuple(-merge::SeverityRank(b.info().severity()),
                           -b.info().last_occurred_at_ms(), b.info().case_id());
  });
  v1::CasePage out;
  out.set_total(static_cast<uint32_t>(rows.size()));
  out.set_page(page.page);
  out.set_page_size(page.page_size);
  const auto first = static_cast<size_t>(Offset(page));
  for (size_t i = first; i < rows.size() && i < first + page.page_size; ++i) {
    *out.add_cases() = std::move(rows[i]);
  }
  for (const std::string& c : categories) out.add_categories(c);
  for (const std::string& p : provinces) out.add_provinces(p);
  return out;
}

Result<v1::CaseDetail> SqlStore::CaseDetail(const std::string& case_id) {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  v1::CaseDetail detail;
  {
    sql::Statement stmt(
        reader,
        "SELECT c.body, coalesce(s.status, 1), coalesce(s.changed_at_ms, 0), "
        "coalesce(st.name, ''), coalesce(st.province, ''), coalesce(st.district, ''), "
        "coalesce(st.commune, '') FROM cases c "
        "LEFT JOIN case_status s ON s.case_id = c.case_id "
        "LEFT JOIN stations st ON st.code = c.station_code WHERE c.case_id = ?");
    stmt.BindText(1, case_id);
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status::NotFound("no case " + case_id);
    v1::CaseRow* r = detail.mutable_row();
    VIGIL_RETURN_IF_ERROR(ReadCase(stmt, 0, *r->mutable_info()));
    r->set_station_name(stmt.Text(3));
    r->set_province(stmt.Text(4));
    r->set_district(stmt.Text(5));
    r->set_commune(stmt.Text(6));
  }
  sql::Statement audit(
      reader,
      "SELECT id, at_ms, actor, action, target, before, after, reason FROM audit_log "
      "WHERE target = ? ORDER BY id LIMIT 1000");
  audit.BindText(1, case_id);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, audit.Step());
    if (!row) return detail;
    v1::AuditEntry* e = detail.add_history();
    e->set_id(static_cast<uint64_t>(audit.Int(0)));
    e->set_at_ms(audit.Int(1));
    e->set_actor(audit.Text(2));
    e->set_action(audit.Text(3));
    e->set_target(audit.Text(4));
    e->set_before(audit.Text(5));
    e->set_after(audit.Text(6));
    e->set_reason(audit.Text(7));
  }
}

Result<v1::DevicePage> SqlStore::DevicePage(const DeviceQuery& query) {
  if (!query.status.empty() && query.status != "active" && query.status != "revoked") {
    return Status::InvalidArgument("status must be active or revoked");
  }
  const PageRequest page = Clamp(query.page);
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  // ?1 status, ?2 text.
  const sql::Connection& conn = reader;
  const std::string where =
      "FROM devices d LEFT JOIN observers o ON o.observer_id = d.observer_id "
      "WHERE (?1 = '' OR d.status = ?1) AND (?2 = '' OR " +
      sql::Contains(conn, "d.device_id", "?2") + " OR " +
      sql::Contains(conn, "d.observer_id", "?2") + " OR " +
      sql::Contains(conn, "coalesce(o.name, '')", "?2") +
      " OR EXISTS (SELECT 1 FROM assignments a WHERE a.observer_id = d.observer_id AND " +
      sql::Contains(conn, "a.station_code", "?2") + "))";
  v1::DevicePage out;
  out.set_page(page.page);
  out.set_page_size(page.page_size);
  {
    sql::Statement count(reader, "SELECT count(*) " + where);
    count.BindText(1, query.status).BindText(2, query.text);
    VIGIL_ASSIGN_OR_RETURN(bool row, count.Step());
    if (row) out.set_total(static_cast<uint32_t>(count.Int(0)));
  }
  sql::Statement stmt(reader, std::string("SELECT ") + kDeviceColumns + " " + where +
                                  " ORDER BY d.last_seen_ms, d.device_id LIMIT ?3 OFFSET ?4");
  stmt.BindText(1, query.status).BindText(2, query.text);
  stmt.Bind(3, page.page_size).Bind(4, Offset(page));
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    VIGIL_RETURN_IF_ERROR(FillDeviceRow(reader.get(), stmt, *out.add_devices()));
  }
}

Result<v1::DeviceRow> SqlStore::DeviceRow(const std::string& device_id) {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(reader, std::string("SELECT ") + kDeviceColumns +
                                  " FROM devices d LEFT JOIN observers o ON "
                                  "o.observer_id = d.observer_id WHERE d.device_id = ?");
  stmt.BindText(1, device_id);
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Status::NotFound("no device " + device_id);
  v1::DeviceRow out;
  VIGIL_RETURN_IF_ERROR(FillDeviceRow(reader.get(), stmt, out));
  return out;
}

Result<v1::AlertPage> SqlStore::AlertPage(const std::string& kind, PageRequest page_request) {
  const PageRequest page = Clamp(page_request);
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  v1::AlertPage out;
  out.set_page(page.page);
  out.set_page_size(page.page_size);
  {
    sql::Statement count(reader, "SELECT count(*) FROM alerts WHERE ?1 = '' OR kind = ?1");
    count.BindText(1, kind);
    VIGIL_ASSIGN_OR_RETURN(bool row, count.Step());
    if (row) out.set_total(static_cast<uint32_t>(count.Int(0)));
  }
  sql::Statement stmt(
      reader,
      "SELECT id, kind, device_id, detail, first_at_ms, last_at_ms, count FROM alerts "
      "WHERE ?1 = '' OR kind = ?1 ORDER BY last_at_ms DESC, id DESC LIMIT ?2 OFFSET ?3");
  stmt.BindText(1, kind).Bind(2, page.page_size).Bind(3, Offset(page));
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    v1::Alert* a = out.add_alerts();
    a->set_id(static_cast<uint64_t>(stmt.Int(0)));
    a->set_kind(stmt.Text(1));
    a->set_device_id(stmt.Text(2));
    a->set_detail(stmt.Text(3));
    a->set_first_at_ms(stmt.Int(4));
    a->set_last_at_ms(stmt.Int(5));
    a->set_count(static_cast<uint64_t>(stmt.Int(6)));
  }
}

}  // namespace vigil::syncd
