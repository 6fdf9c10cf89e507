// A real `syncd` process for integration tests: run to completion, or serve in the
// background (port 0, --ready-file), killed with SIGKILL and reaped when its guard dies.
// The doctest face of tests/support's SyncdProcess.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "support/process.h"
#include "support/syncd_process.h"

namespace vigil::syncd::testing {

// Runs `syncd ARGS…` to completion; returns its exit status and output (stdout + stderr).
inline std::pair<int, std::string> RunSyncd(const std::string& args) {
  Result<test_support::ShellResult> run =
      test_support::RunShell(std::string(SYNCD_PATH) + " " + args + " 2>&1");
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  return {run->exit_code, run->output};
}

// A running `syncd serve`; killed with SIGKILL and reaped when the guard dies. Its ready
// file and log are DIR/NAME.ready and DIR/NAME.log.
class ServeProcess {
 public:
  ServeProcess(const std::string& data, const std::string& dir, const std::string& name,
               const std::vector<std::string>& extra = {}) {
    test_support::ServeOptions options;
    options.binary = SYNCD_PATH;
    options.data = data;
    options.ready_file = dir + "/" + name + ".ready";
    options.log_file = dir + "/" + name + ".log";
    options.truncate_log = true;
    options.args = {"--rate", "0", "--max-body", "65536"};
    options.args.insert(options.args.end(), extra.begin(), extra.end());
    Status started = process_.Start(std::move(options));
    REQUIRE_MESSAGE(started.ok(), started.ToString());
  }

  // Waits (bounded) for the ready file; returns the base URL.
  std::string WaitReady() {
    Result<std::string> url = process_.WaitReady();
    REQUIRE_MESSAGE(url.ok(), url.status().ToString());
    return *url;
  }

  void Kill() { process_.Kill(); }

  // SIGKILL, then serve again on the same port and data dir (bounded wait); the base URL.
  std::string Restart() {
    Result<std::string> url = process_.Restart();
    REQUIRE_MESSAGE(url.ok(), url.status().ToString());
    return *url;
  }

  // Sends SIGTERM and waits (bounded) for the exit status.
  int Terminate() { return process_.Terminate(std::chrono::seconds(30)); }

  std::string Log() const { return process_.Log(); }

 private:
  test_support::SyncdProcess process_;
};

}  // namespace vigil::syncd::testing
