#include "dashboard/login_throttle.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace vigil::syncd::dashboard {
namespace {

constexpr size_t kMaxRangesPerName = 100;
constexpr size_t kMaxNames = 1000;

// Removes the entry of `map` whose value `time_of` is oldest.
template <class Map, class TimeOf>
void EraseStalest(Map& map, TimeOf time_of) {
  if (map.empty()) return;
  map.erase(std::min_element(map.begin(), map.end(), [&](const auto& a, const auto& b) {
    return time_of(a.second) < time_of(b.second);
  }));
}

}  // namespace

LoginThrottle::LoginThrottle(LoginThrottleOptions options)
    : options_(options),
      ranges_(std::max(1, options.address_ceiling), options.window_ms, options.max_entries) {}

std::string LoginThrottle::AddressRange(const std::string& address) {
  in6_addr v6{};
  if (address.find(':') == std::string::npos || inet_pton(AF_INET6, address.c_str(), &v6) != 1) {
    return address;
  }
  char text[INET6_ADDRSTRLEN] = {};
  std::fill(std::begin(v6.s6_addr) + 8, std::end(v6.s6_addr), 0);
  if (inet_ntop(AF_INET6, &v6, text, sizeof text) == nullptr) return address;
  return std::string(text) + "/64";
}

int64_t LoginThrottle::DelayAfter(int failures) const {
  if (failures < options_.free_failures) return 0;
  int64_t delay = options_.base_delay_ms;
  for (int i = options_.free_failures; i < failures && delay < options_.max_delay_ms; ++i) {
    delay *= 2;
  }
  return std::min(delay, options_.max_delay_ms);
}

LoginVerdict LoginThrottle::Check(const std::string& name, const std::string& address,
                                  int64_t now_ms) {
  const std::string range = AddressRange(address);
  LoginVerdict verdict;
  if (int64_t wait = ranges_.RetryAfterMs(range, now_ms); wait > 0) {
    verdict.retry_after_ms = wait;
    verdict.address_paused = true;
    return verdict;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pairs_.find({name, range});
  if (it == pairs_.end()) return verdict;
  if (now_ms - it->second.last_failure_ms >= options_.forget_after_ms) {
    pairs_.erase(it);
    return verdict;
  }
  const int64_t until = it->second.last_failure_ms + DelayAfter(it->second.failures);
  verdict.retry_after_ms = std::max<int64_t>(0, until - now_ms);
  return verdict;
}

LoginFailure LoginThrottle::Fail(const std::string& name, const std::string& address,
                                 int64_t now_ms) {
  const std::string range = AddressRange(address);
  LoginFailure failure;
  ranges_.Fail(range, now_ms);
  failure.address_paused = ranges_.RetryAfterMs(range, now_ms) > 0;
  std::lock_guard<std::mutex> lock(mu_);
  auto key = std::make_pair(name, range);
  if (pairs_.size() >= options_.max_entries && pairs_.count(key) == 0) MakeRoom(now_ms);
  Pair& pair = pairs_[key];
  if (now_ms - pair.last_failure_ms >= options_.forget_after_ms) pair.failures = 0;
  ++pair.failures;
  pair.last_failure_ms = now_ms;
  failure.pair_failures = pair.failures;

  if (names_.size() >= kMaxNames && names_.count(name) == 0) {
    EraseStalest(names_, [](const std::map<std::string, int64_t>& ranges) {
      int64_t newest = 0;
      for (const auto& [r, at] : ranges) newest = std::max(newest, at);
      return newest;
    });
  }
  std::map<std::string, int64_t>& spread = names_[name];
  for (auto r = spread.begin(); r != spread.end();) {
    r = now_ms - r->second >= options_.window_ms ? spread.erase(r) : std::next(r);
  }
  if (spread.size() < kMaxRangesPerName || spread.count(range) != 0) spread[range] = now_ms;
  failure.name_ranges = static_cast<int>(spread.size());
  return failure;
}

void LoginThrottle::Succeed(const std::string& name, const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  pairs_.erase({name, AddressRange(address)});
}

void LoginThrottle::MakeRoom(int64_t now_ms) {
  for (auto it = pairs_.begin(); it != pairs_.end();) {
    it = now_ms - it->second.last_failure_ms >= options_.forget_after_ms ? pairs_.erase(it)
                                                                         : std::next(it);
  }
  if (pairs_.size() >= options_.max_entries) {
    EraseStalest(pairs_, [](const Pair& p) { return p.last_failure_ms; });
  }
}

}  // namespace vigil::syncd::dashboard
