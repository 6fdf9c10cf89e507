// A real `syncd` process for integration tests: run to completion, or serve in the
// background (port 0, --ready-file), killed with SIGKILL and reaped when its guard dies.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vigil::syncd::testing {

using ServeClock = std::chrono::steady_clock;

// Runs `syncd ARGS…` to completion; returns its exit status and output (stdout + stderr).
inline std::pair<int, std::string> RunSyncd(const std::string& args) {
  std::string command = std::string(SYNCD_PATH) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A running `syncd serve`; killed with SIGKILL and reaped when the guard dies.
class ServeProcess {
 public:
  ServeProcess(const std::string& data, const std::string& dir, const std::string& name,
               std::vector<std::string> extra = {}) {
    ready_file_ = dir + "/" + name + ".ready";
    log_file_ = dir + "/" + name + ".log";
    std::vector<std::string> args = {SYNCD_PATH, "serve",       "--data",       data,
                                     "--listen", "127.0.0.1:0", "--ready-file", ready_file_,
                                     "--rate",   "0",           "--max-body",   "65536"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int fd = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<char*> argv;
      argv.reserve(args.size() + 1);
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Waits (bounded) for the ready file; returns the base URL.
  std::string WaitReady() {
    const auto deadline = ServeClock::now() + std::chrono::seconds(30);
    while (ServeClock::now() < deadline) {
      std::ifstream in(ready_file_);
      std::string url;
      if (in && std::getline(in, url) && !url.empty()) return url;
      int status = 0;
      REQUIRE_MESSAGE(waitpid(pid_, &status, WNOHANG) == 0, "syncd exited: " << Log());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("syncd did not become ready: " << Log());
    return {};
  }

  void Kill() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Sends SIGTERM and waits (bounded) for the exit status.
  int Terminate() {
    kill(pid_, SIGTERM);
    const auto deadline = ServeClock::now() + std::chrono::seconds(30);
    int status = 0;
    while (ServeClock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -2;
  }

  std::string Log() const {
    std::ifstream in(log_file_);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

 private:
  pid_t pid_ = -1;
  std::string ready_file_;
  std::string log_file_;
};

}  // namespace vigil::syncd::testing
