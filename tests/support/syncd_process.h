// The real `syncd` binary for tests and benchmarks: a data dir made by `syncd init`, and a
// `syncd serve` child on 127.0.0.1 (port 0: the OS picks; the port is learned from the ready
// file's URL), waited for until it serves, stopped with SIGTERM or SIGKILL, restarted on the
// same port and data dir, and always reaped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil::test_support {

// `binary init --data DATA --server-id SERVER_ID`; the error holds its output.
[[nodiscard]] Status InitDataDir(const std::string& binary, const std::string& data,
                                 const std::string& server_id);

// The port of a base URL "scheme://host:PORT"; 0 when it has none.
int PortOfUrl(const std::string& url);

// How to run `syncd serve`.
struct ServeOptions {
  std::string binary;             // The syncd executable.
  std::string data;               // Its data dir.
  std::string ready_file;         // Where syncd writes its base URL once it accepts.
  std::string log_file;           // The child's standard output and error.
  bool truncate_log = false;      // false: appended to (restarts share one log).
  int port = 0;                   // 0: a free port the OS picks.
  std::vector<std::string> args;  // After "serve --data D --listen 127.0.0.1:P --ready-file R".
  bool die_with_parent = false;   // SIGTERM when the parent dies (PR_SET_PDEATHSIG).
};

// One `syncd serve` child at a time. The destructor kills (SIGKILL) and reaps a child that
// still runs. Not thread-safe.
class SyncdProcess {
 public:
  SyncdProcess() = default;
  ~SyncdProcess();
  SyncdProcess(const SyncdProcess&) = delete;
  SyncdProcess& operator=(const SyncdProcess&) = delete;

  // Forks and execs syncd with `options` (a stale ready file is removed first); does not wait.
  [[nodiscard]] Status Start(ServeOptions options);
  // Waits up to `timeout` for the ready file; returns the base URL (also url(), port()). An
  // error, with the log, when syncd exits first or the time runs out.
  [[nodiscard]] Result<std::string> WaitReady(
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Start, then WaitReady.
  [[nodiscard]] Result<std::string> Serve(ServeOptions options);
  // Kills the running child (if any), then serves again with the same options on the port it
  // served last (the clients' pinned URL stays valid).
  [[nodiscard]] Result<std::string> Restart();

  // SIGKILL, no clean shutdown; reaps the child. Nothing when none runs.
  void Kill();
  // SIGTERM, then waits for the exit (bounded by `timeout` when given). Its exit code; -1
  // when ended by a signal or none runs; -2 when it still runs after `timeout`.
  int Terminate(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // What the child wrote so far.
  std::string Log() const;
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // The base URL from the ready file, "https://127.0.0.1:PORT"; empty before WaitReady.
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  const ServeOptions& options() const { return options_; }

 private:
  ServeOptions options_;
  pid_t pid_ = -1;
  std::string url_;
  int port_ = 0;
};

}  // namespace vigil::test_support
