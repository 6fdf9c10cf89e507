#include "ingest/byte_budget.h"

#include <algorithm>
#include <cmath>

namespace vigil::syncd {
namespace {

constexpr double kMinuteMs = 60'000;
constexpr double kDayMs = 86'400'000;

// Milliseconds until a bucket of `capacity` refilling over `window_ms` holds `need` bytes.
int64_t WaitMs(double tokens, double need, double capacity, double window_ms) {
  const double target = std::min(need, capacity);
  if (tokens >= target) return 0;
  return static_cast<int64_t>(std::ceil((target - tokens) * window_ms / capacity));
}

}  // namespace

ByteBudget::Buckets& ByteBudget::Refill(const std::string& device_id, int64_t now_ms) {
  auto it = devices_.find(device_id);
  if (it == devices_.end()) {
    if (devices_.size() >= max_devices_) devices_.clear();
    it = devices_
             .emplace(device_id, Buckets{static_cast<double>(per_minute_),
                                         static_cast<double>(per_day_), now_ms})
             .first;
  }
  Buckets& b = it->second;
  if (now_ms > b.updated_ms) {
    const double elapsed = static_cast<double>(now_ms - b.updated_ms);
    b.minute = std::min(static_cast<double>(per_minute_),
                        b.minute + static_cast<double>(per_minute_) * elapsed / kMinuteMs);
    b.day = std::min(static_cast<double>(per_day_),
                     b.day + static_cast<double>(per_day_) * elapsed / kDayMs);
    b.updated_ms = now_ms;
  }
  return b;
}

std::optional<ByteBudget::Overrun> ByteBudget::Check(const std::string& device_id, uint64_t bytes,
                                                     int64_t now_ms) {
  if (per_minute_ == 0 && per_day_ == 0) return std::nullopt;
  std::lock_guard lock(mu_);
  Buckets& b = Refill(device_id, now_ms);
  const double need = static_cast<double>(bytes);
  if (per_day_ > 0) {
    int64_t wait = WaitMs(b.day, need, static_cast<double>(per_day_), kDayMs);
    if (wait > 0) {
      return Overrun{"device " + device_id + " is over its budget of " + std::to_string(per_day_) +
                         " decompressed bytes per day",
                     wait};
    }
  }
  if (per_minute_ > 0) {
    int64_t wait = WaitMs(b.minute, need, static_cast<double>(per_minute_), kMinuteMs);
    if (wait > 0) {
      return Overrun{"device " + device_id + " is over its budget of " +
                         std::to_string(per_minute_) + " decompressed bytes per minute",
                     wait};
    }
  }
  return std::nullopt;
}

void ByteBudget::Charge(const std::string& device_id, uint64_t bytes, int64_t now_ms) {
  if (per_minute_ == 0 && per_day_ == 0) return;
  std::lock_guard lock(mu_);
  Buckets& b = Refill(device_id, now_ms);
  // Debt is bounded by one window's budget: a batch larger than a whole window costs that
  // window, not more.
  const double need = static_cast<double>(bytes);
  if (per_minute_ > 0) b.minute -= std::min(need, static_cast<double>(per_minute_));
  if (per_day_ > 0) b.day -= std::min(need, static_cast<double>(per_day_));
}

}  // namespace vigil::syncd
