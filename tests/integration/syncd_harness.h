// A real syncd for client tests: its data dir, admin commands, and a serve process on a
// port the OS picks (restartable on the same port after a SIGKILL), on tests/support.
#pragma once

#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <string>
#include <utility>

#include "support/process.h"
#include "support/syncd_process.h"
#include "support/temp_dir.h"
#include "vigil/v1/admin.pb.h"

namespace vigil::testing {

using test_support::TempDir;

// Runs a shell command; returns its exit code and its output (stdout and stderr).
inline int Shell(const std::string& command, std::string* out = nullptr) {
  Result<test_support::ShellResult> run = test_support::RunShell(command + " 2>&1");
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  if (out != nullptr) *out = run->output;
  return run->exit_code;
}

// A syncd data dir with one station and observer, the sample forms published, and a serve
// process. Stopped with SIGKILL on destruction (tests also kill it on purpose).
class Syncd {
 public:
  static constexpr const char* kServerId = "it-server";
  static constexpr const char* kStation = "12-03-07-0452";

  // Initializes the data dir: server id, two stations, observers obs1 and obs2 (both at
  // kStation), and every sample form published.
  explicit Syncd(const std::string& forms_dir) : data_(dir_ / "data") {
    Status init = test_support::InitDataDir(SYNCD_PATH, data_, kServerId);
    REQUIRE_MESSAGE(init.ok(), init.ToString());
    std::ofstream(dir_ / "stations.csv")
        << "code,name,province,district,commune,registered_voters\n"
        << kStation << ",Wat Phnom School,Phnom Penh,Daun Penh,Wat Phnom,700\n"
        << "12-03-07-0453,Wat Phnom Pagoda,Phnom Penh,Daun Penh,Wat Phnom,650\n";
    Admin("stations import " + (dir_ / "stations.csv"));
    std::string files;
    for (const char* form : {"opening", "voting", "closing", "incident"}) {
      files += " " + forms_dir + "/" + form + ".json";
    }
    Admin("forms publish" + files);  // several files in one command
    Admin("observers add obs1 --name Sokha --stations " + std::string(kStation));
    Admin("observers add obs2 --name Dara --stations " + std::string(kStation));
  }

  // Runs `syncd admin ARGS --data DIR` and returns its output; a non-zero exit fails the test.
  std::string Admin(const std::string& args) {
    std::string out;
    std::string cmd = std::string(SYNCD_PATH) + " admin --data " + data_ + " " + args;
    int rc = Shell(cmd, &out);
    REQUIRE_MESSAGE(rc == 0, cmd << "\n" << out);
    return out;
  }

  // Starts serving on `port` (0: a free port the OS picks) and waits for the ready file.
  void Serve(int port = 0) {
    test_support::ServeOptions options;
    options.binary = SYNCD_PATH;
    options.data = data_;
    options.ready_file = dir_ / "ready";
    options.log_file = dir_ / "syncd.log";
    options.port = port;
    options.args = {"--rate", "0"};
    Result<std::string> url = process_.Serve(std::move(options));
    REQUIRE_MESSAGE(url.ok(), url.status().ToString());
  }

  // Stops the server with SIGKILL: no clean shutdown, no flush.
  void Kill() { process_.Kill(); }

  // A one-time enrollment payload for `observer` that points at the running server.
  std::string EnrollCode(const std::string& observer, const std::string& expires = "1h") {
    std::string out = Admin("enroll-code --observer " + observer + " --expires " + expires +
                            " --server-url " + url());
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out.substr(out.rfind('\n') + 1);
  }

  const std::string& url() const { return process_.url(); }
  int port() const { return process_.port(); }
  std::string ca_file() const { return data_ + "/tls/cert.pem"; }
  std::string path(const std::string& name) const { return dir_ / name; }
  std::string data_path(const std::string& name) const { return data_ + "/" + name; }
  const std::string& data() const { return data_; }

 private:
  TempDir dir_{"vigil-it-"};
  std::string data_;
  test_support::SyncdProcess process_;  // Killed (SIGKILL) and reaped before dir_ goes.
};

// `syncd admin stats --json` of `server`, parsed; an unreadable answer fails the test.
inline v1::ServerStats Stats(Syncd& server) {
  std::string json = server.Admin("stats --json");
  v1::ServerStats stats;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  REQUIRE_MESSAGE(google::protobuf::util::JsonStringToMessage(json, &stats, options).ok(), json);
  return stats;
}

}  // namespace vigil::testing
