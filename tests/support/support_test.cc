// The shared test helpers (tests/support/README.md) against real directories, shell commands
// and a real syncd.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/files.h"
#include "support/process.h"
#include "support/syncd_process.h"
#include "support/temp_dir.h"

namespace vigil::test_support {
namespace {

namespace fs = std::filesystem;

TEST_CASE("TempDir makes a fresh directory and removes it with its content") {
  std::string kept;
  {
    TempDir dir("support-test-");
    kept = dir.path();
    CHECK(fs::is_directory(kept));
    CHECK(fs::path(kept).filename().string().rfind("support-test-", 0) == 0);
    CHECK(dir / "a/b" == kept + "/a/b");
    fs::create_directories(dir / "a/b");
    std::ofstream(dir / "a/b/file") << "bytes";
    TempDir other("support-test-", dir.path());
    CHECK(other.path() != dir.path());
    CHECK(fs::path(other.path()).parent_path() == fs::path(kept));
  }
  CHECK_FALSE(fs::exists(kept));
}

TEST_CASE("ReadFile returns a file's bytes, empty when it is missing") {
  TempDir dir;
  std::ofstream(dir / "f", std::ios::binary) << std::string("a\0b\n", 4);
  CHECK(ReadFile(dir / "f") == std::string("a\0b\n", 4));
  CHECK(ReadFile(dir / "missing").empty());
}

TEST_CASE("RunShell returns the exit code and standard output") {
  Result<ShellResult> ok = RunShell("printf 'one\\ntwo'; echo hidden >&2");
  REQUIRE(ok.ok());
  CHECK(ok->exit_code == 0);
  CHECK(ok->output == "one\ntwo");
  Result<ShellResult> failed = RunShell("echo out; exit 3");
  REQUIRE(failed.ok());
  CHECK(failed->exit_code == 3);
  CHECK(failed->output == "out\n");
  Result<ShellResult> killed = RunShell("kill -9 $$");
  REQUIRE(killed.ok());
  CHECK(killed->exit_code == -1);
}

TEST_CASE("WaitChild, WaitChildFor and ChildExited reap a forked child") {
  const pid_t quick = fork();
  REQUIRE(quick >= 0);
  if (quick == 0) _exit(7);
  CHECK(ExitCode(WaitChild(quick)) == 7);
  CHECK(WaitChild(quick) == -1);  // Reaped already.

  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t blocked = fork();
  REQUIRE(blocked >= 0);
  if (blocked == 0) {
    close(fds[1]);
    char c = 0;
    _exit(read(fds[0], &c, 1) == 0 ? 5 : 6);  // Ends when the parent closes the pipe.
  }
  close(fds[0]);
  CHECK_FALSE(ChildExited(blocked));
  CHECK_FALSE(WaitChildFor(blocked, std::chrono::milliseconds(0)).has_value());
  close(fds[1]);
  std::optional<int> status = WaitChildFor(blocked, std::chrono::seconds(30));
  REQUIRE(status.has_value());
  CHECK(ExitCode(*status) == 5);
}

TEST_CASE("PortOfUrl reads the port of a base URL") {
  // Parsing only: nothing listens; the ports are the ends and middle of the valid range.
  for (int port : {1, 4711, 65535}) {
    CHECK(PortOfUrl("https://syncd.invalid:" + std::to_string(port)) == port);
    CHECK(PortOfUrl("http://syncd.invalid:" + std::to_string(port) + "\n") == port);
  }
  CHECK(PortOfUrl("no port") == 0);
}

ServeOptions Options(const TempDir& dir, const std::string& data) {
  ServeOptions options;
  options.binary = SYNCD_PATH;
  options.data = data;
  options.ready_file = dir / "ready";
  options.log_file = dir / "syncd.log";
  options.args = {"--no-tls", "--rate", "0"};
  return options;
}

TEST_CASE("SyncdProcess serves, is killed, restarts on the same port and terminates") {
  TempDir dir;
  const std::string data = dir / "data";
  Status init = InitDataDir(SYNCD_PATH, data, "support-test");
  REQUIRE_MESSAGE(init.ok(), init.ToString());
  CHECK_FALSE(InitDataDir(SYNCD_PATH, data, "support-test").ok());  // Already a data dir.

  SyncdProcess syncd;
  Result<std::string> url = syncd.Serve(Options(dir, data));
  REQUIRE_MESSAGE(url.ok(), url.status().ToString());
  CHECK(*url == syncd.url());
  CHECK(url->rfind("http://127.0.0.1:", 0) == 0);
  const int port = syncd.port();
  CHECK(port > 0);
  CHECK(syncd.running());
  CHECK_FALSE(syncd.Start(Options(dir, data)).ok());  // One child at a time.

  const pid_t first = syncd.pid();
  syncd.Kill();
  CHECK_FALSE(syncd.running());
  CHECK(waitpid(first, nullptr, WNOHANG) == -1);  // Reaped: no longer a child of ours.
  CHECK(syncd.port() == port);                    // Still known, for the restart.

  Result<std::string> again = syncd.Restart();
  REQUIRE_MESSAGE(again.ok(), again.status().ToString());
  CHECK(syncd.port() == port);
  CHECK(syncd.Terminate(std::chrono::seconds(30)) == 0);
  CHECK_FALSE(syncd.running());
  CHECK(syncd.Terminate() == -1);  // Nothing left to stop.
  CHECK_FALSE(syncd.Log().empty());
}

TEST_CASE("SyncdProcess reports a syncd that exits before it is ready, with its log") {
  TempDir dir;
  SyncdProcess syncd;
  Result<std::string> url = syncd.Serve(Options(dir, dir / "no-such-data"));
  REQUIRE_FALSE(url.ok());
  CHECK(url.status().message().find("exited before it was ready") != std::string::npos);
  CHECK(url.status().message().find("no-such-data") != std::string::npos);  // From its log.
  CHECK_FALSE(syncd.running());
}

TEST_CASE("a SyncdProcess that goes out of scope kills and reaps its child") {
  TempDir dir;
  const std::string data = dir / "data";
  REQUIRE(InitDataDir(SYNCD_PATH, data, "support-test").ok());
  pid_t pid = -1;
  {
    SyncdProcess syncd;
    REQUIRE(syncd.Serve(Options(dir, data)).ok());
    pid = syncd.pid();
    REQUIRE(pid > 0);
  }
  CHECK(waitpid(pid, nullptr, WNOHANG) == -1);  // Killed and reaped.
}

}  // namespace
}  // namespace vigil::test_support
