#include "ingest/failure_limiter.h"

#include <algorithm>
#include <iterator>

namespace vigil::syncd {

int64_t FailureLimiter::RetryAfterMs(const std::string& key, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  const int64_t window_end = it->second.window_start_ms + window_ms_;
  if (now_ms >= window_end) {
    entries_.erase(it);
    return 0;
  }
  return it->second.failures >= max_failures_ ? window_end - now_ms : 0;
}

void FailureLimiter::Fail(const std::string& key, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= max_keys_ && entries_.find(key) == entries_.end()) {
    // Forget windows that have passed; if none has, the oldest window goes.
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = now_ms >= it->second.window_start_ms + window_ms_ ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= max_keys_) {
      entries_.erase(std::min_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
        return a.second.window_start_ms < b.second.window_start_ms;
      }));
    }
  }
  Entry& e = entries_[key];
  if (e.failures == 0 || now_ms >= e.window_start_ms + window_ms_) {
    e.failures = 0;
    e.window_start_ms = now_ms;
  }
  ++e.failures;
}

void FailureLimiter::Reset(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(key);
}

}  // namespace vigil::syncd
