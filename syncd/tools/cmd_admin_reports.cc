// `syncd admin stats|export|coverage|conflicts|cases|case|override`: what was reported, and
// the coordinators' decisions on it (docs/merge.md).
#include <iostream>
#include <memory>
#include <string>

#include "admin/admin.h"
#include "admin/data_dir.h"
#include "admin/merge_admin.h"
#include "cli.h"

namespace vigil::syncd::cli {
namespace {

int RunStats(SqlStore& store, const JsonFlags& flags) {
  Result<v1::ServerStats> counts = store.Stats();
  if (!counts.ok()) return Report(counts.status());
  if (flags.json) return PrintJson(*counts);
  std::cout << StatsText(*counts);
  return 0;
}

struct CsvFlags : DataFlags {
  bool csv = false;
};

int RunExportSubmissions(SqlStore& store, const CsvFlags&) {
  return Report(WriteSubmissionsCsv(store, std::cout));
}

int RunExportMasters(SqlStore& store, const CsvFlags&) {
  return Report(WriteMastersCsv(store, std::cout));
}

struct CoverageFlags : JsonFlags {
  CoverageQuery query;
  std::string silent_after = "2h";
};

int RunCoverage(SqlStore& store, const CoverageFlags& flags) {
  Result<int64_t> after = ParseDuration(flags.silent_after);
  if (!after.ok()) return Report(after.status());
  CoverageQuery query = flags.query;
  query.silent_after_ms = *after;
  return Print(store.Coverage(query), flags.json, CoverageText);
}

int RunConflicts(SqlStore& store, const JsonFlags& flags) {
  return Print(store.Conflicts(), flags.json, ConflictsText);
}

struct CasesFlags : JsonFlags {
  std::string status;
};

int RunCases(SqlStore& store, const CasesFlags& flags) {
  v1::CaseStatus status = v1::CASE_STATUS_UNSPECIFIED;
  if (!flags.status.empty()) {
    Result<v1::CaseStatus> parsed = ParseCaseStatus(flags.status);
    if (!parsed.ok()) return Report(parsed.status());
    status = *parsed;
  }
  return Print(store.Cases(status), flags.json, CasesText);
}

struct CaseSetStatusFlags : DataFlags {
  std::string case_id;
  std::string status;
  std::string by;
  std::string why;
};

int RunCaseSetStatus(SqlStore& store, const CaseSetStatusFlags& flags) {
  Result<v1::CaseStatus> status = ParseCaseStatus(flags.status);
  if (!status.ok()) return Report(status.status());
  Result<v1::Case> changed = store.SetCaseStatus(flags.case_id, *status, flags.by, flags.why);
  if (!changed.ok()) return Report(changed.status());
  std::cout << "case " << flags.case_id << " is " << CaseStatusText(changed->status()) << "\n";
  return 0;
}

struct OverrideFlags : DataFlags {
  OverrideRequest request;  // Without value_text: `value` and `remove` say.
  std::string value;
  bool value_given = false;
  bool remove = false;
};

int RunOverride(SqlStore& store, const OverrideFlags& flags) {
  OverrideRequest request = flags.request;
  if (!flags.remove) {
    if (!flags.value_given) return Report(Status::InvalidArgument("give a VALUE, or --remove"));
    request.value_text = flags.value;
  }
  Result<v1::MasterRecord> master = store.SetOverride(request);
  if (!master.ok()) return Report(master.status());
  std::cout << (flags.remove ? "removed override of " : "overrode ") << request.station_code << "/"
            << request.form_id << "/" << request.question_id << "\n";
  return 0;
}

void AddExportCommands(CLI::App& admin, Commands& commands) {
  CLI::App* export_cmd = admin.add_subcommand("export", "export stored reports");
  export_cmd->require_subcommand(1);
  auto submissions_flags = std::make_shared<CsvFlags>();
  CLI::App* submissions = export_cmd->add_subcommand("submissions", "checklists");
  submissions->add_flag("--csv", submissions_flags->csv, "CSV on stdout")->required();
  commands.AddOnStore(submissions, submissions_flags, RunExportSubmissions);
  auto masters_flags = std::make_shared<CsvFlags>();
  CLI::App* masters = export_cmd->add_subcommand("masters", "master records");
  masters->add_flag("--csv", masters_flags->csv, "CSV on stdout")->required();
  commands.AddOnStore(masters, masters_flags, RunExportMasters);
}

void AddCoverageCommand(CLI::App& admin, Commands& commands) {
  auto flags = std::make_shared<CoverageFlags>();
  CLI::App* coverage = admin.add_subcommand("coverage", "coverage per area and form");
  coverage->add_option("--form", flags->query.form_id, "one form (default: every checklist)");
  coverage->add_option("--by", flags->query.level, "province, district, commune or nation")
      ->check(CLI::IsMember({"nation", "province", "district", "commune"}));
  coverage->add_option("--silent-after", flags->silent_after,
                       "a device is silent after this long without a sync, e.g. 2h");
  coverage->add_flag("--json", flags->json, "JSON (vigil.v1.CoverageReport)");
  commands.AddOnStore(coverage, flags, RunCoverage);
}

void AddCaseCommands(CLI::App& admin, Commands& commands) {
  auto cases_flags = std::make_shared<CasesFlags>();
  CLI::App* cases = admin.add_subcommand("cases", "incident cases");
  cases->add_option("--status", cases_flags->status, "only cases with this status");
  cases->add_flag("--json", cases_flags->json, "JSON (vigil.v1.CaseList)");
  commands.AddOnStore(cases, cases_flags, RunCases);

  auto flags = std::make_shared<CaseSetStatusFlags>();
  CLI::App* case_cmd = admin.add_subcommand("case", "act on one case");
  case_cmd->require_subcommand(1);
  CLI::App* set_status = case_cmd->add_subcommand("set-status", "move a case along");
  set_status->add_option("CASE", flags->case_id, "case id")->required();
  set_status->add_option("STATUS", flags->status, "verified, escalated, resolved, rejected")
      ->required();
  set_status->add_option("--by", flags->by, "who decides")->required();
  set_status->add_option("--reason", flags->why, "why")->required();
  commands.AddOnStore(set_status, flags, RunCaseSetStatus);
}

void AddOverrideCommand(CLI::App& admin, Commands& commands) {
  auto flags = std::make_shared<OverrideFlags>();
  OverrideRequest& request = flags->request;
  CLI::App* override_cmd =
      admin.add_subcommand("override", "set one field of a master record (wins over reports)");
  override_cmd->add_option("STATION", request.station_code, "station code")->required();
  override_cmd->add_option("FORM", request.form_id, "form id")->required();
  override_cmd->add_option("QUESTION", request.question_id, "question id")->required();
  CLI::Option* value = override_cmd->add_option("VALUE", flags->value, "the value");
  override_cmd->add_flag("--remove", flags->remove, "remove the override instead")->excludes(value);
  override_cmd->add_option("--by", request.by, "who decides")->required();
  override_cmd->add_option("--reason", request.reason, "why")->required();
  override_cmd->parse_complete_callback(
      [flags = flags.get(), value] { flags->value_given = value->count() > 0; });
  commands.AddOnStore(override_cmd, flags, RunOverride);
}

}  // namespace

void AddReportCommands(CLI::App& admin, Commands& commands) {
  auto stats_flags = std::make_shared<JsonFlags>();
  CLI::App* stats = admin.add_subcommand("stats", "counts of everything stored");
  stats->add_flag("--json", stats_flags->json, "JSON (vigil.v1.ServerStats)");
  commands.AddOnStore(stats, stats_flags, RunStats);

  AddExportCommands(admin, commands);
  AddCoverageCommand(admin, commands);

  auto conflicts_flags = std::make_shared<JsonFlags>();
  CLI::App* conflicts = admin.add_subcommand("conflicts", "open conflicts between observers");
  conflicts->add_flag("--json", conflicts_flags->json, "JSON (vigil.v1.ConflictList)");
  commands.AddOnStore(conflicts, conflicts_flags, RunConflicts);

  AddCaseCommands(admin, commands);
  AddOverrideCommand(admin, commands);
}

}  // namespace vigil::syncd::cli
