#include "admin/merge_admin.h"

#include <algorithm>
#include <cctype>
#include <cstdarg>
#include <cstdio>

#include "admin/admin.h"
#include "vigil/protocol/form_rules.h"

namespace vigil::syncd {
namespace {

// printf into a string; the format attribute has the compiler check every call's arguments.
std::string Format(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* format, ...) {  // NOLINT(cert-dcl50-cpp): checked, see above
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return buf;
}

}  // namespace

std::string CoverageStatusText(v1::CoverageStatus status) {
  switch (status) {
    case v1::COVERAGE_PARTIAL:
      return "partial";
    case v1::COVERAGE_COMPLETE:
      return "complete";
    case v1::COVERAGE_CONFLICT:
      return "conflict";
    default:
      return "missing";
  }
}

Result<v1::CaseStatus> ParseCaseStatus(const std::string& text) {
  std::string upper = text;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (upper.rfind("CASE_", 0) != 0) upper = "CASE_" + upper;
  v1::CaseStatus status = v1::CASE_STATUS_UNSPECIFIED;
  if (!v1::CaseStatus_Parse(upper, &status) || status == v1::CASE_STATUS_UNSPECIFIED) {
    return Status::InvalidArgument(
        "status is one of new, verified, escalated, resolved, "
        "rejected, not '" +
        text + "'");
  }
  return status;
}

std::string CaseStatusText(v1::CaseStatus status) {
  std::string name = v1::CaseStatus_Name(status);
  if (name.rfind("CASE_", 0) == 0) name = name.substr(5);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

std::string CoverageText(const v1::CoverageReport& report) {
  std::string out = Format("%-10s %-24s %-10s %8s %16s %16s %16s %16s\n", "level", "area", "form",
                           "stations", "missing", "partial", "complete", "conflict");
  for (const v1::CoverageRow& r : report.rows()) {
    auto cell = [](uint64_t n, double pct) {
      return Format("%llu (%.1f%%)", static_cast<unsigned long long>(n), pct);
    };
    out += Format(
        "%-10s %-24s %-10s %8llu %16s %16s %16s %16s\n", r.level().c_str(),
        r.area().empty() ? "-" : r.area().c_str(), r.form_id().c_str(),
        static_cast<unsigned long long>(r.stations()), cell(r.missing(), r.missing_pct()).c_str(),
        cell(r.partial(), r.partial_pct()).c_str(), cell(r.complete(), r.complete_pct()).c_str(),
        cell(r.conflict(), r.conflict_pct()).c_str());
  }
  out += Format("silent observers (no sync for %lld min): %d\n",
                static_cast<long long>(report.silent_after_ms() / 60000),
                report.silent_observers_size());
  for (const v1::SilentObserver& s : report.silent_observers()) {
    out += "  " + s.station_code() + "  " + s.observer_id() + "  " +
           (s.device_id().empty() ? std::string("(no device)") : s.device_id()) +
           "  last_seen_ms=" + std::to_string(s.last_seen_ms()) + "\n";
  }
  return out;
}

std::string ConflictsText(const v1::ConflictList& list) {
  std::string out;
  for (const v1::FieldConflict& c : list.conflicts()) {
    out += c.station_code() + "  " + c.form_id() + "  " + c.question_id() + "\n";
    for (const v1::ConflictValue& v : c.values()) {
      out += "    " + v.text() + "  by " + v.observer_id() + " (device " + v.device_id() +
             ", submission " + v.submission_id() + ")\n";
    }
  }
  out += std::to_string(list.conflicts_size()) + " open conflicts\n";
  return out;
}

std::string CasesText(const v1::CaseList& list) {
  std::string out;
  for (const v1::Case& c : list.cases()) {
    out += c.case_id() + "  " + c.station_code() + "  " + c.category() + "  " + c.severity() +
           "  " + CaseStatusText(c.status()) + "  reports=" + std::to_string(c.report_count()) +
           "\n";
    for (const v1::CaseEvent& e : c.timeline()) {
      out += "    " + std::to_string(e.occurred_at_ms()) + "  " + e.incident_id() + "  " +
             e.severity() + (e.parent_id().empty() ? "" : "  follow-up of " + e.parent_id()) +
             "  by " + e.observer_id() + "\n";
    }
  }
  out += std::to_string(list.cases_size()) + " cases\n";
  return out;
}

std::string AuditText(const v1::AuditLog& log) {
  std::string out;
  for (const v1::AuditEntry& e : log.entries()) {
    out += std::to_string(e.id()) + "  " + std::to_string(e.at_ms()) + "  " + e.actor() + "  " +
           e.action() + "  " + e.target() + "  '" + e.before() + "' -> '" + e.after() +
           "'  reason: " + e.reason() + "\n";
  }
  return out;
}

Status WriteMastersCsv(MergeStore& store, std::ostream& out) {
  out << "station_code,form_id,form_version,status,answers,conflicts,qa_flags,overrides,"
         "observers\n";
  return store.ForEachMaster([&](const v1::MasterRecord& m) {
    std::string answers, conflicts, flags, overrides;
    for (const v1::Answer& a : m.answers()) {
      answers +=
          (answers.empty() ? "" : ";") + a.question_id() + "=" + protocol::ValueToText(a.value());
    }
    for (const v1::FieldConflict& c : m.conflicts()) {
      if (!c.overridden()) conflicts += (conflicts.empty() ? "" : ";") + c.question_id();
    }
    for (const v1::QaFlag& f : m.qa_flags()) flags += (flags.empty() ? "" : ";") + f.check_id();
    for (const v1::Override& o : m.overrides()) {
      overrides += (overrides.empty() ? "" : ";") + o.question_id();
    }
    out << CsvCell(m.station_code()) << "," << CsvCell(m.form_id()) << "," << m.form_version()
        << "," << CoverageStatusText(m.status()) << "," << CsvCell(answers) << ","
        << CsvCell(conflicts) << "," << CsvCell(flags) << "," << CsvCell(overrides) << ","
        << m.contributors_size() << "\n";
  });
}

}  // namespace vigil::syncd
