// `syncd admin enroll-code|devices|coordinators|broadcast`: who may reach syncd, and what
// devices are told.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "admin/admin.h"
#include "admin/data_dir.h"
#include "admin/server_urls.h"
#include "cli.h"
#include "dashboard/api.h"
#include "dashboard/password.h"
#include "tls/cert.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/server_urls.h"

namespace vigil::syncd::cli {
namespace {

struct EnrollCodeFlags : DataFlags {
  std::string observer_id;
  bool all = false;
  std::string expires = "24h";
  std::string server_url;  // Empty: the deployment's list, else kDefaultServerUrl.
};

constexpr char kDefaultServerUrl[] = "https://127.0.0.1:8443";

// Where an enrollment payload sends the device: the deployment's server URLs when an
// administrator listed them (`server-urls set`), --server-url first when given; else
// --server-url alone (a payload without server_urls, as before the list existed).
struct PayloadUrls {
  std::vector<std::string> urls;
  bool listed = false;

  std::string Payload(const std::string& pin, const std::string& code) const {
    return listed ? MakeEnrollmentPayload(urls, pin, code)
                  : MakeEnrollmentPayload(urls.front(), pin, code);
  }
};

Result<PayloadUrls> LoadPayloadUrls(SqlStore& store, const std::string& server_url) {
  VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> stored, GetServerUrls(store));
  if (stored.empty()) {
    return PayloadUrls{{server_url.empty() ? kDefaultServerUrl : server_url}, false};
  }
  if (!server_url.empty()) VIGIL_RETURN_IF_ERROR(protocol::CheckServerUrl(server_url));
  return PayloadUrls{EnrollmentUrls(stored, server_url), true};
}

// A code for every observer, one line each: OBSERVER STATION PAYLOAD.
int EnrollEveryObserver(SqlStore& store, const PayloadUrls& urls, int64_t validity_ms,
                        const std::string& pin) {
  Result<std::vector<ObserverEntry>> observers = store.ListObservers();
  if (!observers.ok()) return Report(observers.status());
  std::vector<EnrollmentCodeEntry> codes;
  std::string lines;
  for (const ObserverEntry& o : *observers) {
    Result<std::string> random = protocol::RandomBytes(16);
    if (!random.ok()) return Report(random.status());
    std::string code = protocol::Base64UrlEncode(*random);
    codes.push_back({protocol::Sha256(code), o.id, NowMs() + validity_ms});
    lines += o.id + " " + (o.station_codes.empty() ? "-" : o.station_codes.front()) + " " +
             urls.Payload(pin, code) + "\n";
  }
  Status stored = store.AddEnrollmentCodes(codes);
  if (!stored.ok()) return Report(stored);
  std::cout << lines;
  return 0;
}

int RunEnrollCode(SqlStore& store, const EnrollCodeFlags& flags) {
  if (!flags.all && flags.observer_id.empty()) {
    return Report(Status::InvalidArgument("give --observer ID or --all"));
  }
  Result<int64_t> validity = ParseDuration(flags.expires);
  if (!validity.ok()) return Report(validity.status());
  Result<std::string> pin = PinOfCertFile(DataDir(flags.data).tls_cert());
  if (!pin.ok()) return Report(pin.status());
  Result<PayloadUrls> urls = LoadPayloadUrls(store, flags.server_url);
  if (!urls.ok()) return Report(urls.status());
  if (flags.all) return EnrollEveryObserver(store, *urls, *validity, *pin);
  Result<std::string> random = protocol::RandomBytes(16);
  if (!random.ok()) return Report(random.status());
  std::string code = protocol::Base64UrlEncode(*random);
  Status stored =
      store.AddEnrollmentCode(protocol::Sha256(code), flags.observer_id, NowMs() + *validity);
  if (!stored.ok()) return Report(stored);
  std::cout << urls->Payload(*pin, code) << "\n";
  return 0;
}

int RunDevicesList(SqlStore& store, const JsonFlags& flags) {
  Result<std::vector<DeviceRecord>> list = store.ListDevices();
  if (!list.ok()) return Report(list.status());
  v1::DeviceList out;
  for (const DeviceRecord& d : *list) {
    v1::DeviceSummary* s = out.add_devices();
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
  if (flags.json) return PrintJson(out);
  for (const auto& s : out.devices()) {
    std::cout << s.device_id() << "  " << s.observer_id() << "  " << s.status()
              << "  last_seq=" << s.last_seq() << "  pending=" << s.pending_records()
              << "  clock_offset_ms=" << s.clock_offset_ms() << "\n";
  }
  return 0;
}

struct DevicesRevokeFlags : DataFlags {
  std::string device_id;
  std::string reason = "revoked by coordinator";
  std::string by;
};

int RunDevicesRevoke(SqlStore& store, const DevicesRevokeFlags& flags) {
  Status revoked = store.RevokeDevice(flags.device_id, flags.reason, flags.by);
  if (!revoked.ok()) return Report(revoked);
  std::cout << "revoked " << flags.device_id << "\n";
  return 0;
}

struct CoordinatorFlags : DataFlags {
  std::string name;
  std::string role = "viewer";
  bool password_stdin = false;
};

// The password is one line on standard input (--password-stdin), never an argument.
int RunCoordinatorsAdd(SqlStore& store, const CoordinatorFlags& flags) {
  if (Status checked = dashboard::CheckCoordinatorName(flags.name); !checked.ok()) {
    return Report(checked);
  }
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  Result<std::string> hash = dashboard::HashPassword(password);
  protocol::SecureWipe(password);
  if (!hash.ok()) return Report(hash.status());
  CoordinatorRecord coordinator;
  coordinator.name = flags.name;
  coordinator.role = flags.role == "admin"         ? v1::ROLE_ADMIN
                     : flags.role == "coordinator" ? v1::ROLE_COORDINATOR
                                                   : v1::ROLE_VIEWER;
  coordinator.password_hash = *hash;
  Status added = store.AddCoordinator(coordinator);
  if (!added.ok()) return Report(added);
  std::cout << "added coordinator " << flags.name << " (" << flags.role << ")\n";
  return 0;
}

int RunCoordinatorsList(SqlStore& store, const JsonFlags& flags) {
  Result<v1::CoordinatorList> list = store.ListCoordinators();
  if (!list.ok()) return Report(list.status());
  if (flags.json) return PrintJson(*list);
  for (const auto& c : list->coordinators()) {
    std::cout << c.name() << "  " << dashboard::RoleName(c.role())
              << (c.disabled() ? "  disabled" : "") << "\n";
  }
  return 0;
}

int RunCoordinatorsDisable(SqlStore& store, const CoordinatorFlags& flags) {
  Status disabled = store.SetCoordinatorDisabled(flags.name, true);
  if (!disabled.ok()) return Report(disabled);
  std::cout << "disabled " << flags.name
            << " (a running syncd ends the sessions at their next request)\n";
  return 0;
}

struct BroadcastFlags : DataFlags {
  std::string text;
  std::string lang = "en";
  std::string author = "coordinator";
};

int RunBroadcast(SqlStore& store, const BroadcastFlags& flags) {
  v1::Broadcast message;
  message.set_author(flags.author);
  (*message.mutable_text())[flags.lang] = flags.text;
  Result<v1::Broadcast> sent = store.AddBroadcast(std::move(message));
  if (!sent.ok()) return Report(sent.status());
  std::cout << "broadcast " << sent->broadcast_id() << "\n";
  return 0;
}

void AddEnrollCodeCommand(CLI::App& admin, Commands& commands) {
  auto flags = std::make_shared<EnrollCodeFlags>();
  CLI::App* enroll_code = admin.add_subcommand("enroll-code", "issue a one-time enrollment code");
  auto* one_observer = enroll_code->add_option("--observer", flags->observer_id, "observer id");
  enroll_code
      ->add_flag("--all", flags->all,
                 "a code for every observer; prints OBSERVER STATION PAYLOAD per line")
      ->excludes(one_observer);
  enroll_code->add_option("--expires", flags->expires, "validity, e.g. 30m, 24h, 7d");
  enroll_code->add_option("--server-url", flags->server_url,
                          "URL devices reach syncd at (default: the deployment's list from "
                          "`server-urls set`, else https://127.0.0.1:8443); with a list, put "
                          "first");
  commands.AddOnStore(enroll_code, flags, RunEnrollCode);
}

void AddDevicesCommands(CLI::App& admin, Commands& commands) {
  CLI::App* devices = admin.add_subcommand("devices", "enrolled devices");
  devices->require_subcommand(1);
  auto list_flags = std::make_shared<JsonFlags>();
  CLI::App* list = devices->add_subcommand("list", "list devices");
  list->add_flag("--json", list_flags->json, "JSON output");
  commands.AddOnStore(list, list_flags, RunDevicesList);

  auto revoke_flags = std::make_shared<DevicesRevokeFlags>();
  CLI::App* revoke = devices->add_subcommand("revoke", "revoke a device");
  revoke->add_option("DEVICE_ID", revoke_flags->device_id, "device id")->required();
  revoke->add_option("--reason", revoke_flags->reason, "why")->required();
  // NOLINTNEXTLINE(concurrency-mt-unsafe): no other thread runs yet.
  const char* user = std::getenv("USER");
  revoke_flags->by = std::string("cli:") + (user != nullptr ? user : "?");
  revoke->add_option("--by", revoke_flags->by, "who revokes (for the audit log)");
  commands.AddOnStore(revoke, revoke_flags, RunDevicesRevoke);
}

void AddCoordinatorsCommands(CLI::App& admin, Commands& commands) {
  CLI::App* coordinators = admin.add_subcommand("coordinators", "people who use the dashboard");
  coordinators->require_subcommand(1);
  auto add_flags = std::make_shared<CoordinatorFlags>();
  CLI::App* add = coordinators->add_subcommand("add", "add a coordinator");
  add->add_option("NAME", add_flags->name, "login name")->required();
  add->add_option("--role", add_flags->role, "viewer | coordinator | admin")
      ->check(CLI::IsMember({"viewer", "coordinator", "admin"}));
  add->add_flag("--password-stdin", add_flags->password_stdin, "read the password from stdin")
      ->required();
  commands.AddOnStore(add, add_flags, RunCoordinatorsAdd);

  auto list_flags = std::make_shared<JsonFlags>();
  CLI::App* list = coordinators->add_subcommand("list", "list coordinators");
  list->add_flag("--json", list_flags->json, "JSON (vigil.v1.CoordinatorList)");
  commands.AddOnStore(list, list_flags, RunCoordinatorsList);

  auto disable_flags = std::make_shared<CoordinatorFlags>();
  CLI::App* disable =
      coordinators->add_subcommand("disable", "end a coordinator's access and sessions");
  disable->add_option("NAME", disable_flags->name, "login name")->required();
  commands.AddOnStore(disable, disable_flags, RunCoordinatorsDisable);
}

void AddBroadcastCommand(CLI::App& admin, Commands& commands) {
  auto flags = std::make_shared<BroadcastFlags>();
  CLI::App* broadcast = admin.add_subcommand("broadcast", "send a message to every device");
  broadcast->add_option("--text", flags->text, "the message")->required();
  broadcast->add_option("--lang", flags->lang, "language code of the text");
  broadcast->add_option("--author", flags->author, "who sends it");
  commands.AddOnStore(broadcast, flags, RunBroadcast);
}

}  // namespace

void AddAccessCommands(CLI::App& admin, Commands& commands) {
  AddEnrollCodeCommand(admin, commands);
  AddDevicesCommands(admin, commands);
  AddCoordinatorsCommands(admin, commands);
  AddBroadcastCommand(admin, commands);
}

}  // namespace vigil::syncd::cli
