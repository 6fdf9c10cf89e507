// A per-device budget of decompressed payload bytes (docs/protocol.md §8.1 step 4b): how much
// record data one device may make syncd decode, store and merge, per minute and per day.
// Counted in decompressed bytes (Batch.uncompressed_size), not requests: a small compressed
// batch that decodes to megabytes costs what it decodes to.
//
// Two token buckets per device: one holding at most `per_minute` bytes and refilling it every
// minute, one holding `per_day` and refilling it every day. A batch passes when both buckets
// hold its size (or are full, so that a batch larger than a bucket still passes once it has
// had a whole window to itself); passing spends its size from both, possibly into debt.
// Thread-safe; at most `max_devices` devices are tracked (all are forgotten when full: only
// devices whose signature verified are charged).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace vigil::syncd {

class ByteBudget {
 public:
  // A budget of 0 turns that window off.
  ByteBudget(uint64_t per_minute, uint64_t per_day, size_t max_devices = 1 << 20)
      : per_minute_(per_minute), per_day_(per_day), max_devices_(max_devices) {}

  // Why `bytes` more from `device_id` at `now_ms` are over budget ("… per minute"), and how
  // many milliseconds until they would fit; nullopt when they fit. Spends nothing.
  struct Overrun {
    std::string reason;
    int64_t retry_after_ms = 0;
  };
  std::optional<Overrun> Check(const std::string& device_id, uint64_t bytes, int64_t now_ms);

  // Spends `bytes` of the device's budget (after its signature verified).
  void Charge(const std::string& device_id, uint64_t bytes, int64_t now_ms);

 private:
  struct Buckets {
    double minute;
    double day;
    int64_t updated_ms;
  };
  Buckets& Refill(const std::string& device_id, int64_t now_ms);  // Requires mu_.

  const uint64_t per_minute_;
  const uint64_t per_day_;
  const size_t max_devices_;
  std::mutex mu_;
  std::unordered_map<std::string, Buckets> devices_;  // GUARDED_BY(mu_)
};

}  // namespace vigil::syncd
