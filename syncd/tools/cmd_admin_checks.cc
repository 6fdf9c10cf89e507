// `syncd admin quarantine|alerts|audit|verify`: what the server's checks held or raised, the
// coordinators' actions, and the store checked whole (docs/protocol.md §8.5, admin/verify.h).
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "admin/data_dir.h"
#include "admin/merge_admin.h"
#include "admin/quarantine_admin.h"
#include "admin/verify.h"
#include "cli.h"
#include "ingest/ingest_service.h"

namespace vigil::syncd::cli {
namespace {

constexpr uint32_t kPageSize = 200;

struct QuarantineFlags : JsonFlags {
  bool released = false;
  uint32_t page = 1;
};

int RunQuarantine(SqlStore& store, const QuarantineFlags& flags) {
  return Print(store.QuarantinePage(flags.released, PageRequest{flags.page, kPageSize}), flags.json,
               QuarantineText);
}

struct ReleaseFlags : DataFlags {
  std::string record_id;
  std::string by;
  std::string why;
};

int RunQuarantineRelease(SqlStore& store, const ReleaseFlags& flags) {
  Result<v1::QuarantinedRecord> freed =
      ReleaseQuarantine(store, flags.record_id, flags.by, flags.why);
  if (!freed.ok()) return Report(freed.status());
  std::cout << "released record " << flags.record_id << " and merged it\n";
  return 0;
}

struct AlertsFlags : JsonFlags {
  std::string kind;
  uint32_t page = 1;
};

int RunAlerts(SqlStore& store, const AlertsFlags& flags) {
  return Print(store.AlertPage(flags.kind, PageRequest{flags.page, kPageSize}), flags.json,
               AlertsText);
}

int RunAudit(SqlStore& store, const JsonFlags& flags) {
  return Print(store.Audit(), flags.json, AuditText);
}

struct VerifyFlags : DataFlags {
  std::string scratch;
};

int RunVerify(const VerifyFlags& flags) {
  return RunVerifyCommand(DataDir(flags.data), flags.scratch, std::cout, std::cerr);
}

// `quarantine` lists; `quarantine release` acts.
void AddQuarantineCommands(CLI::App& admin, Commands& commands) {
  auto flags = std::make_shared<QuarantineFlags>();
  CLI::App* quarantine = admin.add_subcommand(
      "quarantine", "records held by the server's checks (list; release RECORD_ID)");
  quarantine->add_flag("--released", flags->released, "list the released ones instead");
  quarantine->add_option("--page", flags->page, "page of 200, from 1")
      ->check(CLI::Range(1, 1 << 20));
  quarantine->add_flag("--json", flags->json, "JSON (vigil.v1.QuarantinePage)");
  commands.AddOnStore(quarantine, flags, RunQuarantine);

  auto release_flags = std::make_shared<ReleaseFlags>();
  CLI::App* release = quarantine->add_subcommand(
      "release", "check a held record again and, if it now passes, merge it (audited)");
  release->add_option("RECORD_ID", release_flags->record_id, "record id")->required();
  release->add_option("--by", release_flags->by, "who decides")->required();
  release->add_option("--reason", release_flags->why, "why")->required();
  commands.AddOnStore(release, release_flags, RunQuarantineRelease);
}

}  // namespace

void AddCheckCommands(CLI::App& admin, Commands& commands) {
  AddQuarantineCommands(admin, commands);

  auto alerts_flags = std::make_shared<AlertsFlags>();
  CLI::App* alerts = admin.add_subcommand("alerts", "alerts for coordinators, newest first");
  alerts->add_option("--kind", alerts_flags->kind,
                     "only this kind, e.g. CRITICAL_ANSWER, QUARANTINED");
  alerts->add_option("--page", alerts_flags->page, "page of 200, from 1")
      ->check(CLI::Range(1, 1 << 20));
  alerts->add_flag("--json", alerts_flags->json, "JSON (vigil.v1.AlertPage)");
  commands.AddOnStore(alerts, alerts_flags, RunAlerts);

  auto audit_flags = std::make_shared<JsonFlags>();
  CLI::App* audit = admin.add_subcommand("audit", "coordinators' actions, oldest first");
  audit->add_flag("--json", audit_flags->json, "JSON (vigil.v1.AuditLog)");
  commands.AddOnStore(audit, audit_flags, RunAudit);

  // Fault checks (scripts/soak): integrity, chains, merge recomputed.
  auto verify_flags = std::make_shared<VerifyFlags>();
  CLI::App* verify = admin.add_subcommand(
      "verify", "check the store: integrity, batch chains, records, merge recomputed");
  verify->add_option("--scratch", verify_flags->scratch,
                     "folder for the temporary copy (default: the system's temporary folder)");
  commands.Add(verify, verify_flags, RunVerify);
}

}  // namespace vigil::syncd::cli
