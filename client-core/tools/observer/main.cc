// `observer`: the Vigil device client on the command line (Linux tablets, training, tests).

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "fill.h"
#include "terminal.h"
#include "vigil/client/answer_input.h"
#include "vigil/client/client.h"
#include "vigil/client/json.h"
#include "vigil/run_main.h"

namespace vigil::observer {
namespace {

// Exit codes: 0 success, 1 a failure, 2 bad usage (CLI11's own).
constexpr int kFailure = 1;

int Fail(const Status& s) {
  std::cerr << "observer: " << s.ToString() << "\n";
  return kFailure;
}

Result<std::unique_ptr<client::Client>> OpenUnlocked(const std::string& home, bool pin_stdin) {
  VIGIL_ASSIGN_OR_RETURN(std::string pin, ReadPin(pin_stdin, "PIN: "));
  auto protector = client::MakePinKeyProtector(std::move(pin));
  return client::Client::Open(home, protector.get());
}

std::string DefaultHome() {
  // NOLINTBEGIN(concurrency-mt-unsafe): read before any other thread starts.
  const char* env = std::getenv("VIGIL_HOME");
  if (env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  // NOLINTEND(concurrency-mt-unsafe)
  return std::string(home != nullptr ? home : ".") + "/.vigil";
}

int CmdInit(const std::string& home, bool pin_stdin, const std::string& server_id,
            uint32_t max_batch) {
  auto pin = ReadPin(pin_stdin, "Choose a PIN (at least 6 characters): ");
  if (!pin.ok()) return Fail(pin.status());
  if (pin->size() < client::kMinPinLength) {
    return Fail(Status::InvalidArgument("the PIN needs at least 6 characters"));
  }
  if (!pin_stdin) {
    auto again = ReadPin(false, "Repeat the PIN: ");
    if (!again.ok()) return Fail(again.status());
    if (*again != *pin) return Fail(Status::InvalidArgument("the two PINs differ"));
  }
  auto protector = client::MakePinKeyProtector(std::move(pin).value());
  client::InitOptions options;
  options.server_id = server_id;
  options.max_records_per_batch = max_batch;
  auto c = client::Client::Init(home, *protector, options);
  if (!c.ok()) return Fail(c.status());
  std::cout << "device " << (*c)->device_id() << " ready in " << home << "\n";
  return 0;
}

int CmdFormsImport(const std::string& home, const std::vector<std::string>& files) {
  auto c = client::Client::Open(home, nullptr);
  if (!c.ok()) return Fail(c.status());
  for (const std::string& file : files) {
    std::ifstream in(file);
    if (!in) return Fail(Status::NotFound("cannot read " + file));
    std::ostringstream text;
    text << in.rdbuf();
    Status s = (*c)->ImportFormJson(text.str());
    if (!s.ok()) return Fail(s.WithContext(file));
    std::cout << "imported " << file << "\n";
  }
  return 0;
}

int CmdFormsList(const std::string& home) {
  auto c = client::Client::Open(home, nullptr);
  if (!c.ok()) return Fail(c.status());
  auto forms = (*c)->ListForms();
  if (!forms.ok()) return Fail(forms.status());
  for (const auto& f : *forms) {
    std::printf("%-12s v%-3u %-9s %3d questions  %s / %s\n", f.form_id.c_str(), f.version,
                f.kind == v1::INCIDENT ? "incident" : "checklist", f.question_count,
                f.title_en.c_str(), f.title_km.c_str());
  }
  return 0;
}

int CmdStatus(const std::string& home, bool json, bool pin_stdin) {
  // Without the PIN the status has counts only; with it, the server's reasons for held records
  // too (they are sealed at rest).
  auto c = pin_stdin ? OpenUnlocked(home, true) : client::Client::Open(home, nullptr);
  if (!c.ok()) return Fail(c.status());
  auto s = (*c)->GetStatus();
  if (!s.ok()) return Fail(s.status());
  if (json) {
    std::cout << client::DeviceStatusToJson(*s) << "\n";
    return 0;
  }
  std::cout << "device        " << s->device_id << "\n"
            << "server        " << (s->server_id.empty() ? "(not set)" : s->server_id) << "\n"
            << "observer      " << (s->observer_id.empty() ? "(not enrolled)" : s->observer_id)
            << "\n"
            << "drafts        " << s->drafts << "\n"
            << "outbox        " << s->outbox << " finalized, not yet in a batch\n"
            << "pending       " << s->batched << " records in " << s->pending_batches
            << " signed batches waiting to be sent\n"
            << "acknowledged  " << s->acknowledged << "\n"
            << "last sync     "
            << (s->last_sync_ms == 0 ? "never" : std::to_string(s->last_sync_ms)) << "\n";
  // The deployment's servers; the next sync tries the marked one (it answered last) first.
  for (size_t i = 0; i < s->server_urls.size(); ++i) {
    const std::string& url = s->server_urls[i];
    std::cout << (i == 0 ? "servers       " : "              ") << url
              << (url == s->server_url ? "  (current)" : "") << "\n";
  }
  if (s->held_by_server > 0) {
    std::cout << "held          " << s->held_by_server
              << " records held by the server for a coordinator's review\n";
    for (const auto& [id, reason] : s->held_reasons) {
      std::cout << "  " << id << ": held by the server: " << reason << "\n";
    }
    if (s->held_reasons.empty()) std::cout << "  (run with --pin-stdin to see why)\n";
  }
  return 0;
}

int CmdIncident(const std::string& home, bool pin_stdin, const client::IncidentInput& input) {
  auto c = OpenUnlocked(home, pin_stdin);
  if (!c.ok()) return Fail(c.status());
  auto id = (*c)->ReportIncident(input);
  if (!id.ok()) return Fail(id.status());
  std::cout << *id << "\n";
  return 0;
}

int CmdFill(const std::string& home, bool pin_stdin, const FillOptions& options) {
  auto c = OpenUnlocked(home, pin_stdin);
  if (!c.ok()) return Fail(c.status());
  auto id = Fill(**c, options);
  if (!id.ok()) return Fail(id.status());
  std::cout << *id << "\n";
  return 0;
}

int CmdOutboxExport(const std::string& home, bool pin_stdin, const std::string& out_dir) {
  auto c = OpenUnlocked(home, pin_stdin);
  if (!c.ok()) return Fail(c.status());
  auto exported = (*c)->ExportOutbox(out_dir);
  if (!exported.ok()) return Fail(exported.status());
  for (const client::ExportedBatch& b : exported->batches) {
    std::cout << b.file << "  " << b.record_count << " records, " << b.bytes << " bytes\n";
  }
  std::cout << exported->batches.size() << " pending batches (" << exported->sealed_now
            << " sealed now), device.pub.pem and server-id written to " << out_dir << "\n";
  return 0;
}

int CmdPinChange(const std::string& home, bool pin_stdin) {
  auto old_pin = ReadPin(pin_stdin, "Current PIN: ");
  if (!old_pin.ok()) return Fail(old_pin.status());
  auto current = client::MakePinKeyProtector(*old_pin);
  auto c = client::Client::Open(home, current.get());
  if (!c.ok()) return Fail(c.status());
  auto new_pin = ReadPin(pin_stdin, "New PIN (at least 6 characters): ");
  if (!new_pin.ok()) return Fail(new_pin.status());
  if (new_pin->size() < client::kMinPinLength) {
    return Fail(Status::InvalidArgument("the PIN needs at least 6 characters"));
  }
  if (!pin_stdin) {
    auto again = ReadPin(false, "Repeat the new PIN: ");
    if (!again.ok()) return Fail(again.status());
    if (*again != *new_pin) return Fail(Status::InvalidArgument("the two PINs differ"));
  }
  auto replacement = client::MakePinKeyProtector(std::move(new_pin).value());
  Status s = (*c)->ChangeKeyProtector(*current, *replacement);
  if (!s.ok()) return Fail(s);
  std::cout << "PIN changed\n";
  return 0;
}

int CmdDraftsList(const std::string& home, bool pin_stdin) {
  auto c = OpenUnlocked(home, pin_stdin);
  if (!c.ok()) return Fail(c.status());
  auto drafts = (*c)->Drafts();
  if (!drafts.ok()) return Fail(drafts.status());
  if (drafts->empty()) std::cout << "no drafts\n";
  for (const client::DraftSummary& d : *drafts) {
    std::cout << d.draft_id << "  " << d.form_id << " v" << d.form_version << "  " << d.station_code
              << "  " << d.answered << " answers\n";
  }
  return 0;
}

int CmdDraftsShow(const std::string& home, bool pin_stdin, const std::string& id) {
  auto c = OpenUnlocked(home, pin_stdin);
  if (!c.ok()) return Fail(c.status());
  auto draft = (*c)->GetRecord(id);
  if (!draft.ok()) return Fail(draft.status());
  if (draft->state != 0 || !draft->record.has_submission()) {
    return Fail(Status::FailedPrecondition("'" + id + "' is not a draft"));
  }
  std::cout << client::DraftToJson(*draft) << "\n";
  return 0;
}

int CmdDraftsDiscard(const std::string& home, bool pin_stdin, const std::string& id) {
  auto c = OpenUnlocked(home, pin_stdin);
  if (!c.ok()) return Fail(c.status());
  Status s = (*c)->DiscardDraft(id);
  if (!s.ok()) return Fail(s);
  std::cout << "discarded " << id << "\n";
  return 0;
}

int CmdWipe(const std::string& home, bool yes) {
  if (!yes) {
    return Fail(Status::InvalidArgument(
        "wipe destroys every record on this device for good: run it with --yes"));
  }
  Status s = client::Client::Wipe(home);
  if (!s.ok()) return Fail(s);
  std::cout << "wiped the store in " << home << "\n";
  return 0;
}

int CmdEnroll(const std::string& home, bool pin_stdin, const std::string& payload,
              const std::string& ca_file) {
  auto c = OpenUnlocked(home, pin_stdin);
  if (!c.ok()) return Fail(c.status());
  v1::DeviceInfo info;
  info.set_model("linux");
  info.set_os("linux");
  info.set_app_version("observer 0.1");
  auto response = (*c)->Enroll(payload, info, ca_file);
  if (!response.ok()) return Fail(response.status());
  std::cout << "enrolled: device " << response->device_id() << " on server "
            << response->server_id() << " for observer " << response->assignment().observer_id()
            << " (" << response->assignment().stations_size() << " stations, "
            << response->forms_size() << " forms)\n";
  return 0;
}

int CmdSync(const std::string& home, bool pin_stdin, const std::string& ca_file, bool no_pull) {
  auto c = OpenUnlocked(home, pin_stdin);
  if (!c.ok()) return Fail(c.status());
  client::SyncOptions options;
  options.ca_file = ca_file;
  options.pull = !no_pull;
  bool tty = isatty(STDERR_FILENO) == 1;
  options.progress = [tty](const client::SyncProgress& p) {
    if (p.phase.rfind("push", 0) == 0 && p.phase != "push") {
      std::cerr << "  " << p.phase << "\n";  // a retry: always worth a line
    } else if (tty) {
      std::cerr << "\r  " << p.phase << ": " << p.batches_done << "/" << p.batches_total
                << " batches, " << p.records_done << " records   " << std::flush;
    }
  };
  auto report = (*c)->Sync(options);
  if (tty) std::cerr << "\n";
  if (!report.ok()) {
    auto status = (*c)->GetStatus();
    if (status.ok() && status->batched + status->outbox > 0) {
      std::cerr << "observer: not everything was sent: " << status->batched + status->outbox
                << " records still pending on this device (kept; sync again later)\n";
    } else if (status.ok()) {
      std::cerr << "observer: every record was sent; the failure came after (fetching updates)\n";
    }
    return Fail(report.status());
  }
  std::cout << "sent " << report->batches_sent << " batches (" << report->bytes_sent
            << " bytes): " << report->records_ok << " records stored, " << report->records_duplicate
            << " already there, " << report->records_rejected << " rejected; " << report->retries
            << " retries\n";
  for (const std::string& w : report->warnings) std::cerr << "observer: " << w << "\n";
  for (const std::string& r : report->rejections) std::cout << "  rejected " << r << "\n";
  for (const std::string& r : report->held) std::cout << "  held by the server: " << r << "\n";
  if (report->batches_resent > 0) {
    std::cout << "the server was restored from a backup: resent " << report->batches_resent
              << " batches it asked for again\n";
  }
  for (const std::string& run : report->lost_batches) {
    std::cout << "  batches " << run
              << " were purged here and are lost on the server (coordinators are alerted)\n";
  }
  if (report->forms_received + report->broadcasts_received + report->incident_updates > 0) {
    std::cout << "received " << report->forms_received << " forms, " << report->broadcasts_received
              << " broadcasts, " << report->incident_updates << " incident updates\n";
  }
  return report->records_rejected == 0 ? 0 : 3;
}

int CmdReceiptsVerify(const std::string& home, bool pin_stdin) {
  auto c = OpenUnlocked(home, pin_stdin);
  if (!c.ok()) return Fail(c.status());
  auto check = (*c)->VerifyReceipts();
  if (!check.ok()) return Fail(check.status());
  for (const std::string& f : check->failures) std::cout << "FAILED " << f << "\n";
  std::cout << check->verified << " receipts verify, " << check->failures.size() << " fail\n";
  return check->failures.empty() ? 0 : kFailure;
}

int CmdInbox(const std::string& home, bool pin_stdin, const std::string& lang) {
  auto c = OpenUnlocked(home, pin_stdin);
  if (!c.ok()) return Fail(c.status());
  auto inbox = (*c)->Inbox();
  if (!inbox.ok()) return Fail(inbox.status());
  if (inbox->empty()) std::cout << "no messages\n";
  for (const v1::Broadcast& b : *inbox) {
    std::cout << "[" << b.sent_at_ms() << "] " << b.author() << ": "
              << protocol::Form::LabelIn(b.text(), lang, "en", "") << "\n";
  }
  return 0;
}

int CmdIncidents(const std::string& home) {
  auto c = client::Client::Open(home, nullptr);
  if (!c.ok()) return Fail(c.status());
  auto list = (*c)->IncidentStatuses();
  if (!list.ok()) return Fail(list.status());
  if (list->empty()) std::cout << "no incident status from coordinators yet\n";
  for (const v1::IncidentStatus& s : *list) {
    std::cout << s.incident_id() << "  case " << s.case_id() << "  "
              << v1::CaseStatus_Name(s.status()) << "\n";
  }
  return 0;
}

// The command line (main() runs it under vigil::RunMain).
int Main(int argc, char** argv) {
  CLI::App app{"observer: the Vigil device client (offline-first election observation)"};
  app.require_subcommand(1);
  std::string home = DefaultHome();
  bool pin_stdin = false;
  app.add_option("--home", home,
                 "folder holding the device store (default $VIGIL_HOME or ~/.vigil)");
  auto add_pin = [&](CLI::App* cmd) {
    cmd->add_flag("--pin-stdin", pin_stdin, "read the PIN as one line from standard input");
  };

  auto* init = app.add_subcommand("init", "create the store and the device key");
  std::string server_id;
  uint32_t max_batch = 200;
  add_pin(init);
  init->add_option("--server-id", server_id, "deployment id, for offline use before enrollment");
  init->add_option("--max-batch", max_batch, "records per batch (1-1000)")
      ->check(CLI::Range(1, 1000));

  auto* forms = app.add_subcommand("forms", "form definitions on this device");
  forms->require_subcommand(1);
  auto* forms_import = forms->add_subcommand("import", "import form definitions (JSON)");
  std::vector<std::string> form_files;
  forms_import->add_option("FILE", form_files, "FormDefinition JSON files")
      ->required()
      ->check(CLI::ExistingFile);
  auto* forms_list = forms->add_subcommand("list", "list the forms held");

  auto* fill = app.add_subcommand("fill", "fill a checklist and finalize it into the outbox");
  FillOptions fill_options;
  add_pin(fill);
  fill->add_option("FORM_ID", fill_options.form_id, "form to fill")->required();
  fill->add_option("--station", fill_options.station, "polling station code")->required();
  fill->add_option("--version", fill_options.version, "form version (default: newest)");
  fill->add_option("--lang", fill_options.lang, "label language: km or en")
      ->check(CLI::IsMember({"km", "en"}));
  auto* answers_opt = fill->add_option("--answers", fill_options.answers_file,
                                       "JSON object of question id -> answer")
                          ->check(CLI::ExistingFile);
  fill->add_flag("--example", fill_options.example, "deterministic example answers (training)")
      ->excludes(answers_opt);
  fill->add_option("--seed", fill_options.seed, "seed for --example (default: from the station)");
  std::string fill_location;
  fill->add_option("--location", fill_location, "where the device is: LAT,LON[,ACCURACY_M]");

  auto* incident = app.add_subcommand("incident", "incident reports");
  incident->require_subcommand(1);
  auto* report = incident->add_subcommand("report", "report an incident (or a follow-up)");
  vigil::client::IncidentInput in;
  int64_t people = -1;
  std::string reported;
  add_pin(report);
  report->add_option("--station", in.station_code, "polling station code")->required();
  report->add_option("--category", in.category, "category option id, e.g. intimidation")
      ->required();
  report->add_option("--severity", in.severity, "low | medium | high | critical")->required();
  report->add_option("--text", in.narrative, "what happened")->required();
  report->add_option("--follows", in.parent_id, "incident id this report follows up");
  report->add_option("--people", people, "people affected")->check(CLI::NonNegativeNumber);
  report->add_option("--reported-to-authority", reported, "yes | no")
      ->check(CLI::IsMember({"yes", "no"}));
  std::string incident_location;
  report->add_option("--location", incident_location, "where the device is: LAT,LON[,ACCURACY_M]");

  auto* status = app.add_subcommand("status", "drafts, outbox, pending and acknowledged counts");
  bool json = false;
  status->add_flag("--json", json, "print JSON");
  add_pin(status);

  auto* outbox = app.add_subcommand("outbox", "the signed batches waiting to be sent");
  outbox->require_subcommand(1);
  auto* export_cmd = outbox->add_subcommand("export", "write pending batches and the device key");
  std::string out_dir;
  add_pin(export_cmd);
  export_cmd->add_option("--out", out_dir, "output folder")->required();

  auto* enroll = app.add_subcommand("enroll", "join a deployment with a coordinator's payload");
  std::string payload;
  std::string ca_file;
  add_pin(enroll);
  enroll->add_option("--payload", payload, "the enrollment payload (QR code text)")->required();
  enroll->add_option("--ca-file", ca_file, "also verify the server certificate against this CA")
      ->check(CLI::ExistingFile);

  auto* sync = app.add_subcommand("sync", "send pending reports, then fetch forms and messages");
  bool no_pull = false;
  add_pin(sync);
  sync->add_option("--ca-file", ca_file, "also verify the server certificate against this CA")
      ->check(CLI::ExistingFile);
  sync->add_flag("--no-pull", no_pull, "only push");

  auto* receipts = app.add_subcommand("receipts", "the server's signed receipts");
  receipts->require_subcommand(1);
  auto* receipts_verify = receipts->add_subcommand("verify", "re-check every stored receipt");
  add_pin(receipts_verify);

  auto* inbox = app.add_subcommand("inbox", "coordinators' broadcasts");
  std::string inbox_lang = "km";
  add_pin(inbox);
  inbox->add_option("--lang", inbox_lang, "km or en")->check(CLI::IsMember({"km", "en"}));

  auto* incidents = app.add_subcommand("incidents", "coordinators' status of my incidents");

  auto* pin = app.add_subcommand("pin", "the observer's PIN");
  pin->require_subcommand(1);
  auto* pin_change = pin->add_subcommand(
      "change", "replace the PIN (with --pin-stdin: the current PIN, then the new one)");
  add_pin(pin_change);

  auto* drafts = app.add_subcommand("drafts", "checklists started and not yet finalized");
  drafts->require_subcommand(1);
  std::string draft_id;
  auto* drafts_list = drafts->add_subcommand("list", "list the open drafts");
  add_pin(drafts_list);
  auto* drafts_show = drafts->add_subcommand("show", "a draft's answers so far (JSON)");
  add_pin(drafts_show);
  drafts_show->add_option("DRAFT_ID", draft_id, "draft id")->required();
  auto* drafts_discard = drafts->add_subcommand("discard", "delete a draft");
  add_pin(drafts_discard);
  drafts_discard->add_option("DRAFT_ID", draft_id, "draft id")->required();

  auto* wipe = app.add_subcommand(
      "wipe", "destroy the store at once: nothing on it can be read afterwards, even with the PIN");
  bool wipe_yes = false;
  wipe->add_flag("--yes", wipe_yes, "really destroy it");

  CLI11_PARSE(app, argc, argv);

  if (enroll->parsed()) return CmdEnroll(home, pin_stdin, payload, ca_file);
  if (sync->parsed()) return CmdSync(home, pin_stdin, ca_file, no_pull);
  if (receipts_verify->parsed()) return CmdReceiptsVerify(home, pin_stdin);
  if (inbox->parsed()) return CmdInbox(home, pin_stdin, inbox_lang);
  if (incidents->parsed()) return CmdIncidents(home);
  if (pin_change->parsed()) return CmdPinChange(home, pin_stdin);
  if (drafts_list->parsed()) return CmdDraftsList(home, pin_stdin);
  if (drafts_show->parsed()) return CmdDraftsShow(home, pin_stdin, draft_id);
  if (drafts_discard->parsed()) return CmdDraftsDiscard(home, pin_stdin, draft_id);
  if (wipe->parsed()) return CmdWipe(home, wipe_yes);

  if (init->parsed()) return CmdInit(home, pin_stdin, server_id, max_batch);
  if (forms_import->parsed()) return CmdFormsImport(home, form_files);
  if (forms_list->parsed()) return CmdFormsList(home);
  if (fill->parsed()) {
    if (!fill_location.empty()) {
      auto point = client::ParseLocationText(fill_location);
      if (!point.ok()) return Fail(point.status());
      fill_options.location = *point;
    }
    return CmdFill(home, pin_stdin, fill_options);
  }
  if (report->parsed()) {
    if (!incident_location.empty()) {
      auto point = client::ParseLocationText(incident_location);
      if (!point.ok()) return Fail(point.status());
      in.location = *point;
    }
    if (people >= 0) in.people_affected = people;
    if (!reported.empty()) in.reported_to_authority = reported == "yes";
    return CmdIncident(home, pin_stdin, in);
  }
  if (status->parsed()) return CmdStatus(home, json, pin_stdin);
  if (export_cmd->parsed()) return CmdOutboxExport(home, pin_stdin, out_dir);
  return 2;
}

}  // namespace
}  // namespace vigil::observer

int main(int argc, char** argv) {
  return vigil::RunMain("observer", [&] { return vigil::observer::Main(argc, argv); });
}
