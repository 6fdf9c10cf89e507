#include "support/syncd_process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <utility>

#include "support/files.h"
#include "support/process.h"

namespace vigil::test_support {

Status InitDataDir(const std::string& binary, const std::string& data,
                   const std::string& server_id) {
  const std::string command =
      binary + " init --data '" + data + "' --server-id '" + server_id + "' 2>&1";
  Result<ShellResult> run = RunShell(command);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) return Status::Internal(command + " failed:\n" + run->output);
  return Status::Ok();
}

int PortOfUrl(const std::string& url) {
  const size_t colon = url.rfind(':');
  if (colon == std::string::npos) return 0;
  try {
    return std::stoi(url.substr(colon + 1));
  } catch (const std::exception&) {
    return 0;
  }
}

SyncdProcess::~SyncdProcess() { Kill(); }

Status SyncdProcess::Start(ServeOptions options) {
  if (running())
    return Status::FailedPrecondition("syncd already runs (pid " + std::to_string(pid_) + ")");
  options_ = std::move(options);
  url_.clear();
  port_ = 0;
  std::error_code ec;
  std::filesystem::remove(options_.ready_file, ec);
  std::vector<std::string> args = {options_.binary, "serve",
                                   "--data",        options_.data,
                                   "--listen",      "127.0.0.1:" + std::to_string(options_.port),
                                   "--ready-file",  options_.ready_file};
  args.insert(args.end(), options_.args.begin(), options_.args.end());
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log_flags =
      O_WRONLY | O_CREAT | O_CLOEXEC | (options_.truncate_log ? O_TRUNC : O_APPEND);
  const pid_t parent = getpid();
  std::fflush(nullptr);  // Or buffered output could be written twice.
  const pid_t pid = fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    // The child: only async-signal-safe calls until execv.
    if (options_.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(127);
    }
    const int fd = open(options_.log_file.c_str(), log_flags, 0600);
    if (fd < 0) _exit(126);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  return Status::Ok();
}

Result<std::string> SyncdProcess::WaitReady(std::chrono::milliseconds timeout) {
  if (!running()) return Status::FailedPrecondition("syncd is not running");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::string url = ReadFile(options_.ready_file);
    while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
    if (!url.empty()) {
      url_ = url;
      port_ = PortOfUrl(url_);
      return url_;
    }
    if (ChildExited(pid_)) {
      pid_ = -1;
      return Status::Unavailable("syncd exited before it was ready:\n" + Log());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable("syncd not ready in " + std::to_string(timeout.count()) +
                                 " ms:\n" + Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polls the ready file
  }
}

Result<std::string> SyncdProcess::Serve(ServeOptions options) {
  VIGIL_RETURN_IF_ERROR(Start(std::move(options)));
  return WaitReady();
}

Result<std::string> SyncdProcess::Restart() {
  Kill();
  ServeOptions options = options_;
  if (port_ != 0) options.port = port_;
  return Serve(std::move(options));
}

void SyncdProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  WaitChild(pid_);
  pid_ = -1;
}

int SyncdProcess::Terminate(std::optional<std::chrono::milliseconds> timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  std::optional<int> status;
  if (timeout.has_value()) {
    status = WaitChildFor(pid_, *timeout);
  } else {
    status = WaitChild(pid_);
  }
  if (!status.has_value()) return -2;
  pid_ = -1;
  return ExitCode(*status);
}

std::string SyncdProcess::Log() const { return ReadFile(options_.log_file); }

}  // namespace vigil::test_support
