#include "support/process.h"

#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <thread>

namespace vigil::test_support {

Result<ShellResult> RunShell(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return Status::Internal("cannot run: " + command);
  ShellResult result;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  result.exit_code = ExitCode(pclose(pipe));
  return result;
}

int ExitCode(int wait_status) {
  return wait_status != -1 && WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

int WaitChild(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

bool ChildExited(pid_t pid, int* status) {
  int s = 0;
  if (waitpid(pid, &s, WNOHANG) != pid) return false;
  if (status != nullptr) *status = s;
  return true;
}

std::optional<int> WaitChildFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    if (ChildExited(pid, &status)) return status;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polls the child's state
  }
}

}  // namespace vigil::test_support
