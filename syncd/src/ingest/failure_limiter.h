// Limits on repeated failures: dashboard logins, enrollment codes.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace vigil::syncd {

// Counts failures per key (a client address, a coordinator name) in a fixed window that
// starts at the first failure: after max_failures the key waits for the window to end.
// Thread-safe; holds at most max_keys keys (expired windows go first, then the oldest).
class FailureLimiter {
 public:
  FailureLimiter(int max_failures, int64_t window_ms, size_t max_keys = 100000)
      : max_failures_(max_failures), window_ms_(window_ms), max_keys_(max_keys) {}

  // Milliseconds until `key` may try again; 0 when it may now.
  int64_t RetryAfterMs(const std::string& key, int64_t now_ms);
  // Counts a failure of `key`.
  void Fail(const std::string& key, int64_t now_ms);
  // Forgets `key`'s failures (a successful login).
  void Reset(const std::string& key);

 private:
  struct Entry {
    int failures = 0;
    int64_t window_start_ms = 0;
  };
  const int max_failures_;
  const int64_t window_ms_;
  const size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
};

}  // namespace vigil::syncd
