// `syncd`: init, serve and admin sub-commands. Thin: parses flags and calls syncd_core.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "admin/admin.h"
#include "admin/backup.h"
#include "admin/data_dir.h"
#include "admin/merge_admin.h"
#include "admin/quarantine_admin.h"
#include "admin/verify.h"
#include "dashboard/api.h"
#include "dashboard/password.h"
#include "http/router.h"
#include "http/server.h"
#include "ingest/ingest_service.h"
#include "metrics/metrics.h"
#include "tls/cert.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/form_rules.h"
#include "vigil/run_main.h"

namespace vigil::syncd {
namespace {

int Report(const Status& status) {
  if (status.ok()) return 0;
  std::cerr << "syncd: " << status.message() << "\n";
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    if (comma > pos) out.push_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

// Prints an answer as JSON or as text for people.
template <typename M>
int Print(const Result<M>& answer, bool json, std::string (*text)(const M&)) {
  if (!answer.ok()) return Report(answer.status());
  if (!json) {
    std::cout << text(*answer);
    return 0;
  }
  Result<std::string> out = ToJson(*answer);
  if (!out.ok()) return Report(out.status());
  std::cout << *out << "\n";
  return 0;
}

int Init(const std::string& data, const InitOptions& options) {
  Result<InitResult> result = InitDataDir(DataDir(data), options);
  if (!result.ok()) return Report(result.status());
  std::cout << "initialized " << data << "\n"
            << "server_id: " << result->server_id << "\n"
            << "receipt_public_key: " << protocol::Base64UrlEncode(result->receipt_public_key)
            << "\n"
            << "tls_pin: " << PinForCurl(result->tls_pin) << "\n";
  return 0;
}

struct ServeFlags {
  std::string data;
  std::string listen = "127.0.0.1:8443";
  std::string ready_file;
  bool no_tls = false;
  int threads = 2;
  size_t max_body = RouterOptions{}.max_body_bytes;
  double rate = RouterOptions{}.rate_per_device_per_s;
  double burst = RouterOptions{}.rate_burst;
  uint64_t device_bytes_per_minute = RouterOptions{}.device_bytes_per_minute;
  uint64_t device_bytes_per_day = RouterOptions{}.device_bytes_per_day;
  size_t max_connections = 20000;
  int64_t max_connections_per_address = -1;  // -1: 2000 with TLS, none with --no-tls.
  int read_timeout_s = 30;
  double address_rate = RouterOptions{}.rate_per_address_per_s;
  double address_burst = RouterOptions{}.address_burst;
  bool quiet = false;
  bool no_merge = false;
  bool no_validate = false;
  int64_t max_db_mb = 0;  // 0: no limit.
  std::string dashboard_dir;
  int session_idle_minutes = 120;
  int64_t silent_after_minutes = 120;
};

// Holds an exclusive lock on DIR/serve.lock for the life of the process, so that two serve
// processes never share one data directory (the store has one writer by design).
bool LockDataDir(const DataDir& dir) {
  std::string path = dir.root + "/serve.lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return false;
  }
  return true;  // the descriptor stays open until the process exits
}

int Serve(const ServeFlags& flags) {
  DataDir dir(flags.data);
  if (!LockDataDir(dir)) {
    return Report(Status::FailedPrecondition("another syncd serve already uses " + flags.data +
                                             " (or its serve.lock cannot be made)"));
  }
  Result<std::pair<std::string, uint16_t>> listen = ParseListenAddress(flags.listen);
  if (!listen.ok()) return Report(listen.status());
  SqliteStoreOptions store_options;
  store_options.merge = !flags.no_merge;
  store_options.validate = !flags.no_validate;
  if (flags.no_validate) {
    std::cerr << "syncd: warning: --no-validate: records are trusted unchecked (benchmarks only)\n";
  }
  store_options.max_db_bytes = flags.max_db_mb << 20;
  Result<std::unique_ptr<SqliteStore>> store = OpenStore(dir, store_options);
  if (!store.ok()) return Report(store.status());
  Result<std::string> server_id = (*store)->GetSetting("server_id");
  if (!server_id.ok()) return Report(server_id.status());
  Result<protocol::Ed25519PrivateKey> key = LoadReceiptKey(dir);
  if (!key.ok()) return Report(key.status());

  Metrics metrics;
  RouterOptions router_options;
  router_options.server_id = *server_id;
  router_options.max_body_bytes = flags.max_body;
  router_options.rate_per_device_per_s = flags.rate;
  router_options.rate_burst = flags.burst;
  router_options.device_bytes_per_minute = flags.device_bytes_per_minute;
  router_options.device_bytes_per_day = flags.device_bytes_per_day;
  router_options.rate_per_address_per_s = flags.address_rate;
  router_options.address_burst = flags.address_burst;
  Router router(**store, metrics,
                std::make_shared<const protocol::Ed25519PrivateKey>(std::move(key).value()),
                router_options);
  dashboard::DashboardOptions dashboard_options;
  dashboard_options.server_id = *server_id;
  dashboard_options.secure_cookie = !flags.no_tls;
  dashboard_options.assets_dir = flags.dashboard_dir;
  dashboard_options.sessions.idle_timeout_ms = int64_t{flags.session_idle_minutes} * 60 * 1000;
  dashboard_options.silent_after_ms = flags.silent_after_minutes * 60 * 1000;
  auto coordinators_dashboard = std::make_unique<dashboard::Dashboard>(**store, dashboard_options);
  router.SetDashboard(coordinators_dashboard.get());

  ServerOptions options;
  options.host = listen->first;
  options.port = listen->second;
  options.tls = !flags.no_tls;
  options.cert_path = dir.tls_cert();
  options.key_path = dir.tls_key();
  options.threads = flags.threads;
  options.max_body_bytes = flags.max_body;
  options.max_connections = flags.max_connections;
  // Behind a TLS-terminating proxy (--no-tls) every connection comes from the proxy.
  options.max_connections_per_address = flags.max_connections_per_address >= 0
                                            ? static_cast<size_t>(flags.max_connections_per_address)
                                            : (flags.no_tls ? 0 : 2000);
  options.read_timeout_s = flags.read_timeout_s;
  options.ready_file = flags.ready_file;
  options.log_requests = !flags.quiet;
  const auto started = std::chrono::steady_clock::now();
  Status served = RunServer(router, options);
  coordinators_dashboard.reset();  // Finishes its queued requests first.
  (*store)->Close();               // Flushes the writer: everything queued is committed.
  if (!served.ok()) return Report(served);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(stderr,
               "syncd: stopped after %.1fs: %llu requests, %llu batches and %llu records "
               "accepted\n",
               seconds, static_cast<unsigned long long>(metrics.requests_total()),
               static_cast<unsigned long long>(metrics.batches_accepted()),
               static_cast<unsigned long long>(metrics.records_accepted()));
  return 0;
}

// The command line (main() runs it under vigil::RunMain).
int Main(int argc, char** argv) {
  using vigil::Result;
  using vigil::Status;
  CLI::App app{"syncd: the Vigil central daemon"};
  app.require_subcommand(1);

  std::string data;
  InitOptions init_options;
  CLI::App* init = app.add_subcommand("init", "create a data dir: store, server id, keys, TLS");
  init->add_option("--data", data, "data directory")->required();
  init->add_option("--server-id", init_options.server_id, "deployment id (default: a new UUID)");
  init->add_option("--tls-cert", init_options.tls_cert, "PEM certificate to use");
  init->add_option("--tls-key", init_options.tls_key, "PEM private key to use");

  ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand("serve", "serve devices over HTTPS");
  serve->add_option("--data", serve_flags.data, "data directory")->required();
  serve->add_option("--listen", serve_flags.listen, "HOST:PORT (port 0: any free port)");
  serve->add_option("--ready-file", serve_flags.ready_file, "write the base URL here once up");
  serve->add_flag("--no-tls", serve_flags.no_tls, "plain HTTP (loopback only, behind a proxy)");
  serve->add_option("--threads", serve_flags.threads, "I/O threads")->check(CLI::Range(1, 64));
  serve->add_option("--max-body", serve_flags.max_body, "largest request body in bytes")
      ->check(CLI::Range(size_t{1024}, size_t{64} << 20));
  serve->add_option("--rate", serve_flags.rate, "requests per second per device (0: no limit)");
  serve->add_option("--burst", serve_flags.burst, "burst per device");
  serve->add_option("--device-bytes-per-minute", serve_flags.device_bytes_per_minute,
                    "decompressed record bytes one device may send per minute (0: no limit)");
  serve->add_option("--device-bytes-per-day", serve_flags.device_bytes_per_day,
                    "decompressed record bytes one device may send per day (0: no limit)");
  serve
      ->add_option("--max-connections", serve_flags.max_connections,
                   "open connections at most; more are closed at once")
      ->check(CLI::Range(1, 1000000));
  serve
      ->add_option("--max-connections-per-address", serve_flags.max_connections_per_address,
                   "open connections from one client address at most; more are closed at once "
                   "(0: no cap; default 2000, none with --no-tls)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  serve
      ->add_option("--read-timeout", serve_flags.read_timeout_s,
                   "seconds to read a whole request, and the keep-alive idle limit")
      ->check(CLI::Range(1, 3600));
  serve->add_option("--address-rate", serve_flags.address_rate,
                    "device requests per second per client address (0: no limit)");
  serve->add_option("--address-burst", serve_flags.address_burst, "burst per client address");
  serve->add_flag("--quiet", serve_flags.quiet, "no per-request log lines");
  serve->add_option("--dashboard-dir", serve_flags.dashboard_dir,
                    "serve the dashboard's files from this folder (development)");
  serve
      ->add_option("--session-idle-minutes", serve_flags.session_idle_minutes,
                   "coordinators' sessions end after this long without a request")
      ->check(CLI::Range(1, 24 * 60));
  serve
      ->add_option("--silent-after-minutes", serve_flags.silent_after_minutes,
                   "an observer whose device has not synced for this long is silent")
      ->check(CLI::Range(1, 7 * 24 * 60));
  serve->add_flag("--no-merge", serve_flags.no_merge,
                  "store records without merging them (only to measure merge's cost)");
  serve->add_flag("--no-validate", serve_flags.no_validate,
                  "trust every signed record: no form, station or observer checks, no "
                  "quarantine (only to measure their cost; never in a deployment)");
  serve
      ->add_option("--max-db-mb", serve_flags.max_db_mb,
                   "grow the database to at most this many MiB; beyond, pushes get a retryable "
                   "503 (0: no limit)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));

  CLI::App* admin = app.add_subcommand("admin", "manage the data dir (also while serving)");
  admin->require_subcommand(1);
  admin->fallthrough();  // `--data DIR` also after the sub-command (inherited by them).
  admin->add_option("--data", data, "data directory")->required();

  // Backup and restore (docs/operations.md §9, admin/backup.h).
  std::string backup_out, restore_from;
  bool restore_force = false;
  CLI::App* backup = admin->add_subcommand(
      "backup", "consistent online backup of the store and keys into one file (mode 0600)");
  backup->add_option("--out", backup_out, "the backup file to write (must not exist)")->required();
  CLI::App* restore = app.add_subcommand(
      "restore", "put a backup file back into a data dir while syncd serve is stopped");
  restore->add_option("--data", data, "data directory")->required();
  restore->add_option("--from", restore_from, "backup file from `syncd admin backup`")->required();
  restore->add_flag("--force", restore_force,
                    "restore over an existing store, keeping it aside as "
                    "syncd.db.before-restore-<time>");

  std::string file;
  CLI::App* stations = admin->add_subcommand("stations", "polling stations");
  stations->require_subcommand(1);
  CLI::App* stations_import = stations->add_subcommand("import", "import stations from CSV");
  stations_import->add_option("FILE", file, "CSV file")->required();

  CLI::App* forms = admin->add_subcommand("forms", "form definitions");
  forms->require_subcommand(1);
  CLI::App* forms_publish = forms->add_subcommand("publish", "publish a FormDefinition (JSON)");
  std::vector<std::string> form_files;
  forms_publish->add_option("FILE", form_files, "JSON files")->required();

  std::string observer_id, name, phone, station_list;
  CLI::App* observers = admin->add_subcommand("observers", "observers");
  observers->require_subcommand(1);
  CLI::App* observers_add = observers->add_subcommand("add", "add an observer");
  observers_add->add_option("ID", observer_id, "observer id")->required();
  observers_add->add_option("--name", name, "full name")->required();
  observers_add->add_option("--phone", phone, "phone number");
  observers_add->add_option("--stations", station_list, "assigned station codes, comma-separated");
  std::string assigned_by = "cli";
  CLI::App* observers_assign =
      observers->add_subcommand("assign", "assign more stations to an observer (audited)");
  observers_assign->add_option("ID", observer_id, "observer id")->required();
  observers_assign->add_option("--stations", station_list, "station codes, comma-separated")
      ->required();
  observers_assign->add_option("--by", assigned_by, "who decides (for the audit log)");

  CLI::App* observers_import =
      observers->add_subcommand("import", "import observers from CSV: id,name,phone,stations");
  observers_import->add_option("FILE", file, "CSV file")->required();

  std::string expires = "24h";
  bool all_observers = false;
  std::string server_url = "https://127.0.0.1:8443";
  CLI::App* enroll_code = admin->add_subcommand("enroll-code", "issue a one-time enrollment code");
  auto* one_observer = enroll_code->add_option("--observer", observer_id, "observer id");
  enroll_code
      ->add_flag("--all", all_observers,
                 "a code for every observer; prints OBSERVER STATION PAYLOAD per line")
      ->excludes(one_observer);
  enroll_code->add_option("--expires", expires, "validity, e.g. 30m, 24h, 7d");
  enroll_code->add_option("--server-url", server_url, "URL devices reach syncd at");

  std::string device_id, reason = "revoked by coordinator";
  bool json = false;
  CLI::App* devices = admin->add_subcommand("devices", "enrolled devices");
  devices->require_subcommand(1);
  CLI::App* devices_list = devices->add_subcommand("list", "list devices");
  devices_list->add_flag("--json", json, "JSON output");
  CLI::App* devices_revoke = devices->add_subcommand("revoke", "revoke a device");
  devices_revoke->add_option("DEVICE_ID", device_id, "device id")->required();
  devices_revoke->add_option("--reason", reason, "why")->required();
  // NOLINTNEXTLINE(concurrency-mt-unsafe): no other thread runs yet.
  const char* user = std::getenv("USER");
  std::string revoked_by = std::string("cli:") + (user != nullptr ? user : "?");
  devices_revoke->add_option("--by", revoked_by, "who revokes (for the audit log)");

  std::string coordinator_name, role_text = "viewer";
  CLI::App* coordinators = admin->add_subcommand("coordinators", "people who use the dashboard");
  coordinators->require_subcommand(1);
  CLI::App* coordinators_add = coordinators->add_subcommand("add", "add a coordinator");
  coordinators_add->add_option("NAME", coordinator_name, "login name")->required();
  coordinators_add->add_option("--role", role_text, "viewer | coordinator | admin")
      ->check(CLI::IsMember({"viewer", "coordinator", "admin"}));
  bool password_stdin = false;
  coordinators_add->add_flag("--password-stdin", password_stdin, "read the password from stdin")
      ->required();
  CLI::App* coordinators_list = coordinators->add_subcommand("list", "list coordinators");
  coordinators_list->add_flag("--json", json, "JSON (vigil.v1.CoordinatorList)");
  CLI::App* coordinators_disable =
      coordinators->add_subcommand("disable", "end a coordinator's access and sessions");
  coordinators_disable->add_option("NAME", coordinator_name, "login name")->required();

  std::string message_text, lang = "en", author = "coordinator";
  CLI::App* broadcast = admin->add_subcommand("broadcast", "send a message to every device");
  broadcast->add_option("--text", message_text, "the message")->required();
  broadcast->add_option("--lang", lang, "language code of the text");
  broadcast->add_option("--author", author, "who sends it");

  CLI::App* stats = admin->add_subcommand("stats", "counts of everything stored");
  stats->add_flag("--json", json, "JSON (vigil.v1.ServerStats)");

  bool csv = false;
  CLI::App* export_cmd = admin->add_subcommand("export", "export stored reports");
  export_cmd->require_subcommand(1);
  CLI::App* export_submissions = export_cmd->add_subcommand("submissions", "checklists");
  export_submissions->add_flag("--csv", csv, "CSV on stdout")->required();

  // Merge (docs/merge.md).
  CoverageQuery coverage_query;
  std::string silent_after = "2h";
  CLI::App* coverage = admin->add_subcommand("coverage", "coverage per area and form");
  coverage->add_option("--form", coverage_query.form_id, "one form (default: every checklist)");
  coverage->add_option("--by", coverage_query.level, "province, district, commune or nation")
      ->check(CLI::IsMember({"nation", "province", "district", "commune"}));
  coverage->add_option("--silent-after", silent_after,
                       "a device is silent after this long without a sync, e.g. 2h");
  coverage->add_flag("--json", json, "JSON (vigil.v1.CoverageReport)");

  CLI::App* conflicts = admin->add_subcommand("conflicts", "open conflicts between observers");
  conflicts->add_flag("--json", json, "JSON (vigil.v1.ConflictList)");

  std::string status_text, by, why;
  CLI::App* cases = admin->add_subcommand("cases", "incident cases");
  cases->add_option("--status", status_text, "only cases with this status");
  cases->add_flag("--json", json, "JSON (vigil.v1.CaseList)");

  std::string case_id;
  CLI::App* case_cmd = admin->add_subcommand("case", "act on one case");
  case_cmd->require_subcommand(1);
  CLI::App* case_set_status = case_cmd->add_subcommand("set-status", "move a case along");
  case_set_status->add_option("CASE", case_id, "case id")->required();
  case_set_status->add_option("STATUS", status_text, "verified, escalated, resolved, rejected")
      ->required();
  case_set_status->add_option("--by", by, "who decides")->required();
  case_set_status->add_option("--reason", why, "why")->required();

  OverrideRequest override_request;
  std::string override_value;
  bool remove_override = false;
  CLI::App* override_cmd =
      admin->add_subcommand("override", "set one field of a master record (wins over reports)");
  override_cmd->add_option("STATION", override_request.station_code, "station code")->required();
  override_cmd->add_option("FORM", override_request.form_id, "form id")->required();
  override_cmd->add_option("QUESTION", override_request.question_id, "question id")->required();
  auto* value_option = override_cmd->add_option("VALUE", override_value, "the value");
  override_cmd->add_flag("--remove", remove_override, "remove the override instead")
      ->excludes(value_option);
  override_cmd->add_option("--by", override_request.by, "who decides")->required();
  override_cmd->add_option("--reason", override_request.reason, "why")->required();

  // Quarantine (docs/protocol.md §8.5) and alerts.
  bool released = false;
  uint32_t page_number = 1;
  CLI::App* quarantine = admin->add_subcommand(
      "quarantine", "records held by the server's checks (list; release RECORD_ID)");
  quarantine->add_flag("--released", released, "list the released ones instead");
  quarantine->add_option("--page", page_number, "page of 200, from 1")
      ->check(CLI::Range(1, 1 << 20));
  quarantine->add_flag("--json", json, "JSON (vigil.v1.QuarantinePage)");
  std::string record_id;
  CLI::App* quarantine_release = quarantine->add_subcommand(
      "release", "check a held record again and, if it now passes, merge it (audited)");
  quarantine_release->add_option("RECORD_ID", record_id, "record id")->required();
  quarantine_release->add_option("--by", by, "who decides")->required();
  quarantine_release->add_option("--reason", why, "why")->required();

  std::string alert_kind;
  CLI::App* alerts = admin->add_subcommand("alerts", "alerts for coordinators, newest first");
  alerts->add_option("--kind", alert_kind, "only this kind, e.g. CRITICAL_ANSWER, QUARANTINED");
  alerts->add_option("--page", page_number, "page of 200, from 1")->check(CLI::Range(1, 1 << 20));
  alerts->add_flag("--json", json, "JSON (vigil.v1.AlertPage)");

  CLI::App* audit = admin->add_subcommand("audit", "coordinators' actions, oldest first");
  audit->add_flag("--json", json, "JSON (vigil.v1.AuditLog)");

  CLI::App* export_masters = export_cmd->add_subcommand("masters", "master records");
  export_masters->add_flag("--csv", csv, "CSV on stdout")->required();

  // Fault checks (scripts/soak): integrity, chains, merge recomputed (admin/verify.h).
  std::string verify_scratch;
  CLI::App* verify = admin->add_subcommand(
      "verify", "check the store: integrity, batch chains, records, merge recomputed");
  verify->add_option("--scratch", verify_scratch,
                     "folder for the temporary copy (default: the system's temporary folder)");

  CLI11_PARSE(app, argc, argv);

  try {
    if (*init) return Init(data, init_options);
    if (*serve) return Serve(serve_flags);
    if (*verify) return RunVerifyCommand(DataDir(data), verify_scratch, std::cout, std::cerr);
    if (*backup) {
      Result<BackupResult> written = TakeBackup(DataDir(data), backup_out);
      if (!written.ok()) return Report(written.status());
      std::cout << BackupText(*written);
      return 0;
    }
    if (*restore) {
      Result<RestoreResult> restored = RestoreBackup(DataDir(data), restore_from, restore_force);
      if (!restored.ok()) return Report(restored.status());
      std::cout << RestoreText(DataDir(data), *restored);
      return 0;
    }

    DataDir dir(data);
    Result<std::unique_ptr<SqliteStore>> opened = OpenStore(dir);
    if (!opened.ok()) return Report(opened.status());
    SqliteStore& store = **opened;

    if (*coordinators_add) {
      if (Status checked = dashboard::CheckCoordinatorName(coordinator_name); !checked.ok()) {
        return Report(checked);
      }
      std::string password;
      std::getline(std::cin, password);
      if (!password.empty() && password.back() == '\r') password.pop_back();
      Result<std::string> hash = dashboard::HashPassword(password);
      vigil::protocol::SecureWipe(password);
      if (!hash.ok()) return Report(hash.status());
      CoordinatorRecord coordinator;
      coordinator.name = coordinator_name;
      coordinator.role = role_text == "admin"         ? vigil::v1::ROLE_ADMIN
                         : role_text == "coordinator" ? vigil::v1::ROLE_COORDINATOR
                                                      : vigil::v1::ROLE_VIEWER;
      coordinator.password_hash = *hash;
      Status added = store.AddCoordinator(coordinator);
      if (!added.ok()) return Report(added);
      std::cout << "added coordinator " << coordinator_name << " (" << role_text << ")\n";
      return 0;
    }
    if (*coordinators_list) {
      Result<vigil::v1::CoordinatorList> list = store.ListCoordinators();
      if (!list.ok()) return Report(list.status());
      if (json) {
        Result<std::string> text = ToJson(*list);
        if (!text.ok()) return Report(text.status());
        std::cout << *text << "\n";
        return 0;
      }
      for (const auto& c : list->coordinators()) {
        std::cout << c.name() << "  " << dashboard::RoleName(c.role())
                  << (c.disabled() ? "  disabled" : "") << "\n";
      }
      return 0;
    }
    if (*coordinators_disable) {
      Status disabled = store.SetCoordinatorDisabled(coordinator_name, true);
      if (!disabled.ok()) return Report(disabled);
      std::cout << "disabled " << coordinator_name
                << " (a running syncd ends the sessions at their next request)\n";
      return 0;
    }
    if (*stations_import) {
      Result<std::string> text = ReadFile(file);
      if (!text.ok()) return Report(text.status());
      Result<std::vector<vigil::v1::Station>> parsed = ParseStationsCsv(*text);
      if (!parsed.ok()) return Report(parsed.status().WithContext(file));
      Status imported = store.ImportStations(*parsed);
      if (!imported.ok()) return Report(imported);
      std::cout << "imported " << parsed->size() << " stations\n";
      return 0;
    }
    if (*forms_publish) {
      for (const std::string& form_file : form_files) {
        Result<std::string> text = ReadFile(form_file, 4u << 20);
        if (!text.ok()) return Report(text.status());
        Result<vigil::v1::FormDefinition> form = ParseFormJson(*text);
        if (!form.ok()) return Report(form.status().WithContext(form_file));
        Status published = store.PublishForm(*form);
        if (!published.ok()) return Report(published.WithContext(form_file));
        std::cout << "published form " << form->form_id() << " version " << form->version() << "\n";
      }
      return 0;
    }
    if (*observers_add) {
      Status added = store.AddObserver(observer_id, name, phone, SplitComma(station_list));
      if (!added.ok()) return Report(added);
      std::cout << "added observer " << observer_id << "\n";
      return 0;
    }
    if (*observers_assign) {
      Status assigned = store.AssignStations(observer_id, SplitComma(station_list), assigned_by);
      if (!assigned.ok()) return Report(assigned);
      std::cout << "assigned " << station_list << " to observer " << observer_id << "\n";
      return 0;
    }
    if (*observers_import) {
      Result<std::string> text = ReadFile(file);
      if (!text.ok()) return Report(text.status());
      Result<std::vector<ObserverEntry>> parsed = ParseObserversCsv(*text);
      if (!parsed.ok()) return Report(parsed.status().WithContext(file));
      Status added = store.AddObservers(*parsed);
      if (!added.ok()) return Report(added);
      std::cout << "imported " << parsed->size() << " observers\n";
      return 0;
    }
    if (*enroll_code && all_observers) {
      Result<int64_t> validity = ParseDuration(expires);
      if (!validity.ok()) return Report(validity.status());
      Result<std::string> pin = PinOfCertFile(dir.tls_cert());
      if (!pin.ok()) return Report(pin.status());
      Result<std::vector<ObserverEntry>> observers_list = store.ListObservers();
      if (!observers_list.ok()) return Report(observers_list.status());
      std::vector<EnrollmentCodeEntry> codes;
      std::string lines;
      for (const ObserverEntry& o : *observers_list) {
        Result<std::string> random = vigil::protocol::RandomBytes(16);
        if (!random.ok()) return Report(random.status());
        std::string code = vigil::protocol::Base64UrlEncode(*random);
        codes.push_back({vigil::protocol::Sha256(code), o.id, NowMs() + *validity});
        lines += o.id + " " + (o.station_codes.empty() ? "-" : o.station_codes.front()) + " " +
                 MakeEnrollmentPayload(server_url, *pin, code) + "\n";
      }
      Status stored = store.AddEnrollmentCodes(codes);
      if (!stored.ok()) return Report(stored);
      std::cout << lines;
      return 0;
    }
    if (*enroll_code) {
      if (observer_id.empty())
        return Report(Status::InvalidArgument("give --observer ID or --all"));
      Result<int64_t> validity = ParseDuration(expires);
      if (!validity.ok()) return Report(validity.status());
      Result<std::string> pin = PinOfCertFile(dir.tls_cert());
      if (!pin.ok()) return Report(pin.status());
      Result<std::string> random = vigil::protocol::RandomBytes(16);
      if (!random.ok()) return Report(random.status());
      std::string code = vigil::protocol::Base64UrlEncode(*random);
      Status stored =
          store.AddEnrollmentCode(vigil::protocol::Sha256(code), observer_id, NowMs() + *validity);
      if (!stored.ok()) return Report(stored);
      std::cout << MakeEnrollmentPayload(server_url, *pin, code) << "\n";
      return 0;
    }
    if (*devices_list) {
      Result<std::vector<DeviceRecord>> list = store.ListDevices();
      if (!list.ok()) return Report(list.status());
      vigil::v1::DeviceList out;
      for (const DeviceRecord& d : *list) {
        vigil::v1::DeviceSummary* s = out.add_devices();
        s->set_device_id(d.device_id);
        s->set_observer_id(d.observer_id);
        s->set_status(d.active ? "active" : "revoked");
        s->set_revoked_reason(d.revoked_reason);
        s->set_last_seq(d.last_seq);
        s->set_last_seen_ms(d.last_seen_ms);
        s->set_clock_offset_ms(d.clock_offset_ms);
        s->set_pending_records(d.pending_records);
        s->set_enrolled_at_ms(d.enrolled_at_ms);
      }
      if (json) {
        Result<std::string> text = ToJson(out);
        if (!text.ok()) return Report(text.status());
        std::cout << *text << "\n";
      } else {
        for (const auto& s : out.devices()) {
          std::cout << s.device_id() << "  " << s.observer_id() << "  " << s.status()
                    << "  last_seq=" << s.last_seq() << "  pending=" << s.pending_records()
                    << "  clock_offset_ms=" << s.clock_offset_ms() << "\n";
        }
      }
      return 0;
    }
    if (*devices_revoke) {
      Status revoked = store.RevokeDevice(device_id, reason, revoked_by);
      if (!revoked.ok()) return Report(revoked);
      std::cout << "revoked " << device_id << "\n";
      return 0;
    }
    if (*broadcast) {
      vigil::v1::Broadcast message;
      message.set_author(author);
      (*message.mutable_text())[lang] = message_text;
      Result<vigil::v1::Broadcast> sent = store.AddBroadcast(std::move(message));
      if (!sent.ok()) return Report(sent.status());
      std::cout << "broadcast " << sent->broadcast_id() << "\n";
      return 0;
    }
    if (*stats) {
      Result<vigil::v1::ServerStats> counts = store.Stats();
      if (!counts.ok()) return Report(counts.status());
      if (json) {
        Result<std::string> text = ToJson(*counts);
        if (!text.ok()) return Report(text.status());
        std::cout << *text << "\n";
      } else {
        std::cout << StatsText(*counts);
      }
      return 0;
    }
    if (*export_submissions) return Report(WriteSubmissionsCsv(store, std::cout));
    if (*export_masters) return Report(WriteMastersCsv(store, std::cout));
    if (*coverage) {
      Result<int64_t> after = ParseDuration(silent_after);
      if (!after.ok()) return Report(after.status());
      coverage_query.silent_after_ms = *after;
      return Print(store.Coverage(coverage_query), json, CoverageText);
    }
    if (*conflicts) return Print(store.Conflicts(), json, ConflictsText);
    if (*cases) {
      vigil::v1::CaseStatus status = vigil::v1::CASE_STATUS_UNSPECIFIED;
      if (!status_text.empty()) {
        Result<vigil::v1::CaseStatus> parsed = ParseCaseStatus(status_text);
        if (!parsed.ok()) return Report(parsed.status());
        status = *parsed;
      }
      return Print(store.Cases(status), json, CasesText);
    }
    if (*case_set_status) {
      Result<vigil::v1::CaseStatus> status = ParseCaseStatus(status_text);
      if (!status.ok()) return Report(status.status());
      Result<vigil::v1::Case> changed = store.SetCaseStatus(case_id, *status, by, why);
      if (!changed.ok()) return Report(changed.status());
      std::cout << "case " << case_id << " is " << CaseStatusText(changed->status()) << "\n";
      return 0;
    }
    if (*override_cmd) {
      if (!remove_override) {
        if (value_option->count() == 0) {
          return Report(Status::InvalidArgument("give a VALUE, or --remove"));
        }
        override_request.value_text = override_value;
      }
      Result<vigil::v1::MasterRecord> master = store.SetOverride(override_request);
      if (!master.ok()) return Report(master.status());
      std::cout << (remove_override ? "removed override of " : "overrode ")
                << override_request.station_code << "/" << override_request.form_id << "/"
                << override_request.question_id << "\n";
      return 0;
    }
    if (*audit) return Print(store.Audit(), json, AuditText);
    if (*quarantine_release) {
      Result<vigil::v1::QuarantinedRecord> freed = ReleaseQuarantine(store, record_id, by, why);
      if (!freed.ok()) return Report(freed.status());
      std::cout << "released record " << record_id << " and merged it\n";
      return 0;
    }
    if (*quarantine) {
      return Print(store.QuarantinePage(released, PageRequest{page_number, 200}), json,
                   QuarantineText);
    }
    if (*alerts) {
      return Print(store.AlertPage(alert_kind, PageRequest{page_number, 200}), json, AlertsText);
    }
  } catch (const std::exception& e) {
    std::cerr << "syncd: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace vigil::syncd

int main(int argc, char** argv) {
  return vigil::RunMain("syncd", [&] { return vigil::syncd::Main(argc, argv); });
}
