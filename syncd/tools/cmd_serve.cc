// `syncd serve`: devices and the coordinators' dashboard over HTTPS (http/server.h).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "admin/data_dir.h"
#include "cli.h"
#include "dashboard/api.h"
#include "http/router.h"
#include "http/server.h"
#include "metrics/metrics.h"
#include "vigil/protocol/crypto.h"

namespace vigil::syncd::cli {
namespace {

struct ServeFlags : DataFlags {
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
// processes never share one SQLite store (it has one writer by design). A PostgreSQL store
// takes any number of nodes: no lock.
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

RouterOptions MakeRouterOptions(const ServeFlags& flags, const std::string& server_id) {
  RouterOptions options;
  options.server_id = server_id;
  options.max_body_bytes = flags.max_body;
  options.rate_per_device_per_s = flags.rate;
  options.rate_burst = flags.burst;
  options.device_bytes_per_minute = flags.device_bytes_per_minute;
  options.device_bytes_per_day = flags.device_bytes_per_day;
  options.rate_per_address_per_s = flags.address_rate;
  options.address_burst = flags.address_burst;
  return options;
}

dashboard::DashboardOptions MakeDashboardOptions(const ServeFlags& flags,
                                                 const std::string& server_id) {
  dashboard::DashboardOptions options;
  options.server_id = server_id;
  options.secure_cookie = !flags.no_tls;
  options.assets_dir = flags.dashboard_dir;
  options.sessions.idle_timeout_ms = int64_t{flags.session_idle_minutes} * 60 * 1000;
  options.silent_after_ms = flags.silent_after_minutes * 60 * 1000;
  return options;
}

ServerOptions MakeServerOptions(const ServeFlags& flags, const DataDir& dir,
                                const std::pair<std::string, uint16_t>& listen) {
  ServerOptions options;
  options.host = listen.first;
  options.port = listen.second;
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
  if (!flags.ready_file.empty()) {
    options.on_listening = [path = flags.ready_file](const std::string& base_url) {
      return WriteFileAtomically(path, base_url + "\n");
    };
  }
  options.log_requests = !flags.quiet;
  return options;
}

// Runs the server on an open store until SIGINT or SIGTERM; the exit status.
int ServeStore(const ServeFlags& flags, const DataDir& dir,
               const std::pair<std::string, uint16_t>& listen, std::unique_ptr<SqlStore> store) {
  Result<std::string> server_id = store->GetSetting("server_id");
  if (!server_id.ok()) return Report(server_id.status());
  Result<protocol::Ed25519PrivateKey> key = LoadReceiptKey(dir);
  if (!key.ok()) return Report(key.status());

  Metrics metrics;
  Router router(*store, metrics,
                std::make_shared<const protocol::Ed25519PrivateKey>(std::move(key).value()),
                MakeRouterOptions(flags, *server_id));
  auto coordinators_dashboard =
      std::make_unique<dashboard::Dashboard>(*store, MakeDashboardOptions(flags, *server_id));
  router.SetDashboard(coordinators_dashboard.get());

  const auto started = std::chrono::steady_clock::now();
  Status served = RunServer(router, MakeServerOptions(flags, dir, listen));
  coordinators_dashboard.reset();  // Finishes its queued requests first.
  store->Close();                  // Flushes the writer: everything queued is committed.
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

int RunServe(const ServeFlags& flags) {
  DataDir dir(flags.data);
  Result<std::optional<std::string>> database = DatabaseUrl(dir);
  if (!database.ok()) return Report(database.status());
  if (!database->has_value() && !LockDataDir(dir)) {
    return Report(Status::FailedPrecondition("another syncd serve already uses " + flags.data +
                                             " (or its serve.lock cannot be made)"));
  }
  Result<std::pair<std::string, uint16_t>> listen = ParseListenAddress(flags.listen);
  if (!listen.ok()) return Report(listen.status());
  SqlStoreOptions store_options;
  store_options.merge = !flags.no_merge;
  store_options.validate = !flags.no_validate;
  if (flags.no_validate) {
    std::cerr << "syncd: warning: --no-validate: records are trusted unchecked (benchmarks only)\n";
  }
  store_options.max_db_bytes = flags.max_db_mb << 20;
  Result<std::unique_ptr<SqlStore>> store = OpenStore(dir, store_options);
  if (!store.ok()) return Report(store.status());
  return ServeStore(flags, dir, *listen, std::move(store).value());
}

// The options on how much syncd takes from whom.
void AddLimitOptions(CLI::App* serve, ServeFlags& flags) {
  serve->add_option("--max-body", flags.max_body, "largest request body in bytes")
      ->check(CLI::Range(size_t{1024}, size_t{64} << 20));
  serve->add_option("--rate", flags.rate, "requests per second per device (0: no limit)");
  serve->add_option("--burst", flags.burst, "burst per device");
  serve->add_option("--device-bytes-per-minute", flags.device_bytes_per_minute,
                    "decompressed record bytes one device may send per minute (0: no limit)");
  serve->add_option("--device-bytes-per-day", flags.device_bytes_per_day,
                    "decompressed record bytes one device may send per day (0: no limit)");
  serve
      ->add_option("--max-connections", flags.max_connections,
                   "open connections at most; more are closed at once")
      ->check(CLI::Range(1, 1000000));
  serve
      ->add_option("--max-connections-per-address", flags.max_connections_per_address,
                   "open connections from one client address at most; more are closed at once "
                   "(0: no cap; default 2000, none with --no-tls)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  serve
      ->add_option("--read-timeout", flags.read_timeout_s,
                   "seconds to read a whole request, and the keep-alive idle limit")
      ->check(CLI::Range(1, 3600));
  serve->add_option("--address-rate", flags.address_rate,
                    "device requests per second per client address (0: no limit)");
  serve->add_option("--address-burst", flags.address_burst, "burst per client address");
}

// The options after the limits, in the order `syncd serve --help` lists them.
void AddOtherOptions(CLI::App* serve, ServeFlags& flags) {
  serve->add_flag("--quiet", flags.quiet, "no per-request log lines");
  serve->add_option("--dashboard-dir", flags.dashboard_dir,
                    "serve the dashboard's files from this folder (development)");
  serve
      ->add_option("--session-idle-minutes", flags.session_idle_minutes,
                   "coordinators' sessions end after this long without a request")
      ->check(CLI::Range(1, 24 * 60));
  serve
      ->add_option("--silent-after-minutes", flags.silent_after_minutes,
                   "an observer whose device has not synced for this long is silent")
      ->check(CLI::Range(1, 7 * 24 * 60));
  serve->add_flag("--no-merge", flags.no_merge,
                  "store records without merging them (only to measure merge's cost)");
  serve->add_flag("--no-validate", flags.no_validate,
                  "trust every signed record: no form, station or observer checks, no "
                  "quarantine (only to measure their cost; never in a deployment)");
  serve
      ->add_option("--max-db-mb", flags.max_db_mb,
                   "grow the database to at most this many MiB; beyond, pushes get a retryable "
                   "503 (0: no limit)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
}

}  // namespace

void AddServeCommand(CLI::App& app, Commands& commands, std::string& data, CLI::Option* global) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand("serve", "serve devices over HTTPS");
  AddDataOption(serve, data, global);
  serve->add_option("--listen", flags->listen, "HOST:PORT (port 0: any free port)");
  serve->add_option("--ready-file", flags->ready_file, "write the base URL here once up");
  serve->add_flag("--no-tls", flags->no_tls, "plain HTTP (loopback only, behind a proxy)");
  serve->add_option("--threads", flags->threads, "I/O threads")->check(CLI::Range(1, 64));
  AddLimitOptions(serve, *flags);
  AddOtherOptions(serve, *flags);
  commands.Add(serve, flags, RunServe);
}

}  // namespace vigil::syncd::cli
