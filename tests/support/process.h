// Child processes for tests and benchmarks: a shell command run to completion, and waiting for
// a forked child (blocking, or bounded by a deadline).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "vigil/status.h"

namespace vigil::test_support {

// What a shell command printed and how it ended.
struct ShellResult {
  int exit_code = -1;  // -1 when it was ended by a signal.
  std::string output;  // Its standard output (append " 2>&1" to the command for stderr too).
};

// Runs `command` with /bin/sh (popen) and waits for it; an error when it cannot be started.
[[nodiscard]] Result<ShellResult> RunShell(const std::string& command);

// The exit code in a wait status; -1 when the child was ended by a signal.
int ExitCode(int wait_status);

// Waits for child `pid` to end (retrying on EINTR) and returns its wait status; -1 when there
// is no such child.
int WaitChild(pid_t pid);

// Waits up to `timeout` for child `pid` to end, polling without blocking; its wait status, or
// nullopt when it still runs (or is no child of ours).
std::optional<int> WaitChildFor(pid_t pid, std::chrono::milliseconds timeout);

// Whether child `pid` has already ended (then reaped; its wait status goes to *status).
bool ChildExited(pid_t pid, int* status = nullptr);

}  // namespace vigil::test_support
