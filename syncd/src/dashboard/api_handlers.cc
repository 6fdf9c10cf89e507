// The dashboard's endpoints (docs/dashboard.md), each a thin translation between the query
// or JSON body and one Store call. Sessions, CSRF and routing are in api.cc.
#include <algorithm>
#include <set>
#include <sstream>

#include "admin/admin.h"
#include "admin/merge_admin.h"
#include "dashboard/api_internal.h"
#include "ingest/ingest_service.h"
#include "store/store.h"
#include "vigil/protocol/form_rules.h"

namespace vigil::syncd::dashboard {
namespace {

constexpr size_t kMaxReasonChars = 1000;
constexpr uint32_t kExportPageSize = 200;
constexpr size_t kMaxRecordIdBytes = 64;  // docs/protocol.md §3.

Result<v1::CoverageStatus> ParseCoverageStatus(const std::string& text) {
  if (text.empty()) return v1::COVERAGE_STATUS_UNSPECIFIED;
  if (text == "missing") return v1::COVERAGE_MISSING;
  if (text == "partial") return v1::COVERAGE_PARTIAL;
  if (text == "complete") return v1::COVERAGE_COMPLETE;
  if (text == "conflict") return v1::COVERAGE_CONFLICT;
  return Status::InvalidArgument("status is one of missing, partial, complete, conflict");
}

Status CheckReason(const std::string& reason) {
  if (reason.empty()) return Status::InvalidArgument("give a reason");
  return protocol::CheckText(reason, "reason", kMaxReasonChars);
}

// The coverage query of `call`, with the first checklist form when none is named.
Result<CoverageDrillQuery> DrillQuery(Store& store, const Dashboard::Call& call) {
  CoverageDrillQuery query;
  query.form_id = call.Param("form");
  if (query.form_id.empty()) {
    VIGIL_ASSIGN_OR_RETURN(v1::FormCatalog catalog, store.FormCatalog());
    for (const v1::FormDefinition& form : catalog.forms()) {
      if (form.kind() == v1::CHECKLIST) {
        query.form_id = form.form_id();
        break;
      }
    }
    if (query.form_id.empty()) return Status::NotFound("no checklist form is published");
  }
  if (!call.Param("level").empty()) query.level = call.Param("level");
  query.province = call.Param("province");
  query.district = call.Param("district");
  query.commune = call.Param("commune");
  query.prefix = call.Param("q");
  VIGIL_ASSIGN_OR_RETURN(query.status, ParseCoverageStatus(call.Param("status")));
  VIGIL_ASSIGN_OR_RETURN(query.page, PageParams(call));
  return query;
}

Result<CaseQuery> CaseFilter(const Dashboard::Call& call) {
  CaseQuery query;
  const std::string& status = call.Param("status");
  if (status == "open") {
    query.statuses = {v1::CASE_NEW, v1::CASE_VERIFIED, v1::CASE_ESCALATED};
  } else if (!status.empty()) {
    VIGIL_ASSIGN_OR_RETURN(v1::CaseStatus one, ParseCaseStatus(status));
    query.statuses = {one};
  }
  query.category = call.Param("category");
  query.province = call.Param("province");
  query.severity = call.Param("severity");
  VIGIL_ASSIGN_OR_RETURN(query.page, PageParams(call));
  return query;
}

HttpResponse Csv(const std::string& name, std::string body) {
  HttpResponse response;
  response.content_type = "text/csv; charset=utf-8";
  response.body = std::move(body);
  response.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  return response;
}

std::string AnswersText(const google::protobuf::RepeatedPtrField<v1::Answer>& answers) {
  std::string out;
  for (const v1::Answer& a : answers) {
    out += (out.empty() ? "" : ";") + a.question_id() + "=" + protocol::ValueToText(a.value());
  }
  return out;
}

}  // namespace

HttpResponse Dashboard::Forms(Call&) {
  Result<v1::FormCatalog> catalog = store_.FormCatalog();
  return catalog.ok() ? JsonAnswer(*catalog) : StoreError(catalog.status());
}

HttpResponse Dashboard::Coverage(Call& call) {
  Result<CoverageDrillQuery> query = DrillQuery(store_, call);
  if (!query.ok()) return StoreError(query.status());
  Result<v1::CoveragePage> page = store_.CoverageDrill(*query);
  return page.ok() ? JsonAnswer(*page) : StoreError(page.status());
}

HttpResponse Dashboard::Station(Call&, const std::string& code) {
  Result<v1::StationDetail> detail = store_.StationDetail(code);
  return detail.ok() ? JsonAnswer(*detail) : StoreError(detail.status());
}

HttpResponse Dashboard::SetOverride(Call& call) {
  if (!RoleAtLeast(call, v1::ROLE_COORDINATOR)) {
    return Forbidden("overriding a field", v1::ROLE_COORDINATOR);
  }
  v1::OverrideInput input;
  if (Status parsed = ParseJsonBody(call.request.body, input); !parsed.ok()) {
    return StoreError(parsed);
  }
  if (Status reason = CheckReason(input.reason()); !reason.ok()) return StoreError(reason);
  if (Status value = protocol::CheckText(input.value_text(), "value", 10000); !value.ok()) {
    return StoreError(value);
  }
  OverrideRequest request;
  request.station_code = input.station_code();
  request.form_id = input.form_id();
  request.question_id = input.question_id();
  if (!input.remove()) request.value_text = input.value_text();
  request.by = call.session->name;
  request.reason = input.reason();
  Result<v1::MasterRecord> master = store_.SetOverride(request);
  if (!master.ok()) return StoreError(master.status());
  HttpResponse response = JsonAnswer(*master);
  response.note = "override by " + call.session->name;
  return response;
}

HttpResponse Dashboard::Conflicts(Call&) {
  Result<v1::ConflictList> list = store_.Conflicts();
  return list.ok() ? JsonAnswer(*list) : StoreError(list.status());
}

HttpResponse Dashboard::Cases(Call& call) {
  Result<CaseQuery> query = CaseFilter(call);
  if (!query.ok()) return StoreError(query.status());
  Result<v1::CasePage> page = store_.CasePage(*query);
  return page.ok() ? JsonAnswer(*page) : StoreError(page.status());
}

HttpResponse Dashboard::Case(Call&, const std::string& id) {
  Result<v1::CaseDetail> detail = store_.CaseDetail(id);
  return detail.ok() ? JsonAnswer(*detail) : StoreError(detail.status());
}

HttpResponse Dashboard::SetCaseStatus(Call& call, const std::string& id) {
  if (!RoleAtLeast(call, v1::ROLE_COORDINATOR)) {
    return Forbidden("changing a case's status", v1::ROLE_COORDINATOR);
  }
  v1::CaseStatusInput input;
  if (Status parsed = ParseJsonBody(call.request.body, input); !parsed.ok()) {
    return StoreError(parsed);
  }
  if (Status reason = CheckReason(input.reason()); !reason.ok()) return StoreError(reason);
  if (input.status() == v1::CASE_STATUS_UNSPECIFIED) {
    return ApiError(400, "INVALID", "say which status (status)");
  }
  Result<v1::Case> changed =
      store_.SetCaseStatus(id, input.status(), call.session->name, input.reason());
  if (!changed.ok()) return StoreError(changed.status());
  Result<v1::CaseDetail> detail = store_.CaseDetail(id);
  if (!detail.ok()) return StoreError(detail.status());
  HttpResponse response = JsonAnswer(*detail);
  response.note = "case status by " + call.session->name;
  return response;
}

HttpResponse Dashboard::Devices(Call& call) {
  DeviceQuery query;
  query.status = call.Param("status");
  query.text = call.Param("q");
  Result<PageRequest> page = PageParams(call);
  if (!page.ok()) return StoreError(page.status());
  query.page = *page;
  Result<v1::DevicePage> devices = store_.DevicePage(query);
  return devices.ok() ? JsonAnswer(*devices) : StoreError(devices.status());
}

HttpResponse Dashboard::Revoke(Call& call, const std::string& id) {
  if (!RoleAtLeast(call, v1::ROLE_ADMIN)) return Forbidden("revoking a device", v1::ROLE_ADMIN);
  v1::RevokeInput input;
  if (Status parsed = ParseJsonBody(call.request.body, input); !parsed.ok()) {
    return StoreError(parsed);
  }
  if (Status reason = CheckReason(input.reason()); !reason.ok()) return StoreError(reason);
  if (Status revoked = store_.RevokeDevice(id, input.reason(), call.session->name); !revoked.ok()) {
    return StoreError(revoked);
  }
  Result<v1::DeviceRow> row = store_.DeviceRow(id);
  if (!row.ok()) return StoreError(row.status());
  HttpResponse response = JsonAnswer(*row);
  response.note = "revoke by " + call.session->name;
  return response;
}

HttpResponse Dashboard::Alerts(Call& call) {
  Result<PageRequest> page = PageParams(call);
  if (!page.ok()) return StoreError(page.status());
  Result<v1::AlertPage> alerts = store_.AlertPage(call.Param("kind"), *page);
  return alerts.ok() ? JsonAnswer(*alerts) : StoreError(alerts.status());
}

HttpResponse Dashboard::Audit(Call&) {
  Result<v1::AuditLog> log = store_.Audit();
  return log.ok() ? JsonAnswer(*log) : StoreError(log.status());
}

HttpResponse Dashboard::Quarantine(Call& call) {
  const std::string& released = call.Param("released");
  if (!released.empty() && released != "0" && released != "1") {
    return ApiError(400, "INVALID", "released is 0 (records still held, the default) or 1");
  }
  Result<PageRequest> page = PageParams(call);
  if (!page.ok()) return StoreError(page.status());
  Result<v1::QuarantinePage> records = store_.QuarantinePage(released == "1", *page);
  return records.ok() ? JsonAnswer(*records) : StoreError(records.status());
}

HttpResponse Dashboard::ReleaseQuarantine(Call& call) {
  if (!RoleAtLeast(call, v1::ROLE_COORDINATOR)) {
    return Forbidden("releasing a record from quarantine", v1::ROLE_COORDINATOR);
  }
  v1::QuarantineReleaseInput input;
  if (Status parsed = ParseJsonBody(call.request.body, input); !parsed.ok()) {
    return StoreError(parsed);
  }
  if (input.record_id().empty()) return ApiError(400, "INVALID", "say which record (recordId)");
  if (Status id = protocol::CheckText(input.record_id(), "recordId", kMaxRecordIdBytes); !id.ok()) {
    return StoreError(id);
  }
  if (Status reason = CheckReason(input.reason()); !reason.ok()) return StoreError(reason);
  Result<v1::QuarantinedRecord> released =
      syncd::ReleaseQuarantine(store_, input.record_id(), call.session->name, input.reason());
  if (!released.ok()) return StoreError(released.status());
  HttpResponse response = JsonAnswer(*released);
  response.note = "quarantine release by " + call.session->name;
  return response;
}

HttpResponse Dashboard::Export(Call& call, const std::string& what) {
  std::ostringstream out;
  if (what == "masters.csv" || what == "submissions.csv") {
    // The stations of the current coverage filter, page by page.
    Result<CoverageDrillQuery> query = DrillQuery(store_, call);
    if (!query.ok()) return StoreError(query.status());
    query->level = "station";
    query->page = PageRequest{1, kExportPageSize};
    std::vector<v1::StationCoverage> stations;
    while (true) {
      Result<v1::CoveragePage> page = store_.CoverageDrill(*query);
      if (!page.ok()) return StoreError(page.status());
      for (const v1::StationCoverage& s : page->stations()) stations.push_back(s);
      if (page->stations_size() < static_cast<int>(kExportPageSize)) break;
      ++query->page.page;
    }
    if (what == "masters.csv") {
      out << "station_code,station_name,province,district,commune,form_id,status,answers,"
             "conflicts,qa_flags,overrides,observers\n";
      for (const v1::StationCoverage& s : stations) {
        std::string answers, conflicts, flags, overrides;
        uint32_t observers = 0;
        if (s.status() != v1::COVERAGE_MISSING) {
          Result<v1::StationDetail> detail = store_.StationDetail(s.station_code());
          if (!detail.ok()) return StoreError(detail.status());
          for (const v1::MasterRecord& m : detail->masters()) {
            if (m.form_id() != query->form_id) continue;
            answers = AnswersText(m.answers());
            for (const v1::FieldConflict& c : m.conflicts()) {
              if (!c.overridden()) conflicts += (conflicts.empty() ? "" : ";") + c.question_id();
            }
            for (const v1::QaFlag& f : m.qa_flags()) {
              flags += (flags.empty() ? "" : ";") + f.check_id();
            }
            for (const v1::Override& o : m.overrides()) {
              overrides += (overrides.empty() ? "" : ";") + o.question_id();
            }
            observers = static_cast<uint32_t>(m.contributors_size());
          }
        }
        out << CsvCell(s.station_code()) << "," << CsvCell(s.name()) << "," << CsvCell(s.province())
            << "," << CsvCell(s.district()) << "," << CsvCell(s.commune()) << ","
            << CsvCell(query->form_id) << "," << CoverageStatusText(s.status()) << ","
            << CsvCell(answers) << "," << CsvCell(conflicts) << "," << CsvCell(flags) << ","
            << CsvCell(overrides) << "," << observers << "\n";
      }
      return Csv("masters-" + query->form_id + ".csv", out.str());
    }
    out << "submission_id,station_code,form_id,form_version,observer_id,device_id,"
           "finalized_at_ms,received_at_ms,latest,answers\n";
    for (const v1::StationCoverage& s : stations) {
      if (s.status() == v1::COVERAGE_MISSING) continue;
      Result<v1::StationDetail> detail = store_.StationDetail(s.station_code());
      if (!detail.ok()) return StoreError(detail.status());
      for (const v1::StationSubmission& sub : detail->submissions()) {
        const v1::Submission& m = sub.submission();
        if (m.form_id() != query->form_id) continue;
        out << CsvCell(m.submission_id()) << "," << CsvCell(m.station_code()) << ","
            << CsvCell(m.form_id()) << "," << m.form_version() << "," << CsvCell(m.observer_id())
            << "," << CsvCell(sub.device_id()) << "," << m.finalized_at_ms() << ","
            << sub.received_at_ms() << "," << (sub.latest() ? "yes" : "no") << ","
            << CsvCell(AnswersText(m.answers())) << "\n";
      }
    }
    return Csv("submissions-" + query->form_id + ".csv", out.str());
  }
  if (what == "cases.csv") {
    Result<CaseQuery> query = CaseFilter(call);
    if (!query.ok()) return StoreError(query.status());
    query->page = PageRequest{1, kExportPageSize};
    out << "case_id,station_code,station_name,province,district,commune,category,severity,"
           "status,first_occurred_at_ms,last_occurred_at_ms,reports\n";
    while (true) {
      Result<v1::CasePage> page = store_.CasePage(*query);
      if (!page.ok()) return StoreError(page.status());
      for (const v1::CaseRow& row : page->cases()) {
        const v1::Case& c = row.info();
        out << CsvCell(c.case_id()) << "," << CsvCell(c.station_code()) << ","
            << CsvCell(row.station_name()) << "," << CsvCell(row.province()) << ","
            << CsvCell(row.district()) << "," << CsvCell(row.commune()) << ","
            << CsvCell(c.category()) << "," << CsvCell(c.severity()) << ","
            << CaseStatusText(c.status()) << "," << c.first_occurred_at_ms() << ","
            << c.last_occurred_at_ms() << "," << c.report_count() << "\n";
      }
      if (page->cases_size() < static_cast<int>(kExportPageSize)) break;
      ++query->page.page;
    }
    return Csv("cases.csv", out.str());
  }
  return ApiError(404, "NOT_FOUND", "export masters.csv, submissions.csv or cases.csv");
}

}  // namespace vigil::syncd::dashboard
