#include "ingest/rate_limiter.h"

#include <algorithm>

namespace vigil::syncd {

RateLimiter::Bucket& RateLimiter::Refill(const std::string& key, int64_t now_ms) {
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) buckets_.clear();
    it = buckets_.emplace(key, Bucket{burst_, now_ms}).first;
  }
  Bucket& bucket = it->second;
  if (now_ms > bucket.updated_ms) {
    bucket.tokens = std::min(
        burst_,
        bucket.tokens + rate_per_s_ * static_cast<double>(now_ms - bucket.updated_ms) / 1000.0);
    bucket.updated_ms = now_ms;
  }
  return bucket;
}

bool RateLimiter::Allow(const std::string& key, int64_t now_ms) {
  if (rate_per_s_ <= 0) return true;
  std::lock_guard lock(mu_);
  Bucket& bucket = Refill(key, now_ms);
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

bool RateLimiter::HasToken(const std::string& key, int64_t now_ms) {
  if (rate_per_s_ <= 0) return true;
  std::lock_guard lock(mu_);
  return Refill(key, now_ms).tokens >= 1.0;
}

void RateLimiter::Take(const std::string& key, int64_t now_ms) {
  if (rate_per_s_ <= 0) return;
  std::lock_guard lock(mu_);
  Bucket& bucket = Refill(key, now_ms);
  bucket.tokens = std::max(0.0, bucket.tokens - 1.0);
}

}  // namespace vigil::syncd
