// A token bucket per device: `rate_per_s` requests per second on average, bursts of up to
// `burst`. Thread-safe. Holds at most `max_keys` buckets (forgets all when full: a flood of
// invented device ids is refused earlier, as UNKNOWN_DEVICE, so only real devices land here).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace vigil::syncd {

class RateLimiter {
 public:
  RateLimiter(double rate_per_s, double burst, size_t max_keys = 1 << 20)
      : rate_per_s_(rate_per_s), burst_(burst), max_keys_(max_keys) {}

  // Takes one token for `key` at time `now_ms`; false when the bucket is empty.
  // A rate <= 0 disables limiting.
  bool Allow(const std::string& key, int64_t now_ms);

  // True when `key` has a token at `now_ms`, without taking it. Requests are checked with
  // this before their signature and charged with Take() only after it verifies, so forged
  // requests naming a real device cannot spend that device's allowance.
  bool HasToken(const std::string& key, int64_t now_ms);
  // Takes one token for `key` (the bucket may go below one; never below zero).
  void Take(const std::string& key, int64_t now_ms);

 private:
  struct Bucket {
    double tokens;
    int64_t updated_ms;
  };
  // The bucket for `key`, refilled up to `now_ms`. Requires mu_.
  struct Bucket& Refill(const std::string& key, int64_t now_ms);
  const double rate_per_s_;
  const double burst_;
  const size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
};

}  // namespace vigil::syncd
