// Slowing down password guessing on the dashboard's login without letting anyone lock a
// coordinator out (docs/dashboard.md "Access", docs/security.md).
//
// RULES
//  L1. Failures are counted per (name, address range): the first `free_failures` cost
//      nothing; after that the pair waits `base_delay_ms`, doubling with each further failure
//      up to `max_delay_ms`, counted from its last failure. While it waits, its attempts are
//      answered 429 without checking the password (and are not failures).
//  L2. A name is never locked as such: failures of (X, A) never delay (X, B). The right
//      password from an address range that has not failed is always checked.
//  L3. Per address range, failures over all names are capped: after `address_ceiling`
//      failures within `window_ms` (from the range's first one) every login from that range
//      waits for the window's end. One person's typos stay far below it (L1 slows them), so
//      an office behind one NAT address is not locked out by one person.
//  L4. A success forgets its pair's failures, never its range's (an attacker with one valid
//      account cannot reset the ceiling).
//  L5. An address range is the IPv4 address, or the /64 prefix of an IPv6 address (one host
//      often holds a whole /64).
//  L6. Memory is bounded: a pair is forgotten `forget_after_ms` after its last failure, and
//      at most `max_entries` pairs and ranges are kept (expired first, then the stalest).
//  L7. The pattern of one name failing from many ranges is reported: the number of distinct
//      ranges that failed for a name within `window_ms` (counted up to 100, for at most
//      1,000 names at a time).
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "ingest/failure_limiter.h"

namespace vigil::syncd::dashboard {

// The throttle's settings; defaults are the documented ones.
struct LoginThrottleOptions {
  int free_failures = 5;                     // Per (name, address range).
  int64_t base_delay_ms = 1000;              // The first delay after them …
  int64_t max_delay_ms = 15 * 60 * 1000;     // … doubling up to this.
  int64_t forget_after_ms = 60 * 60 * 1000;  // A pair's failures are forgotten after this.
  int address_ceiling = 50;                  // Failures per address range …
  int64_t window_ms = 15 * 60 * 1000;        // … within this window.
  size_t max_entries = 100000;
};

// Whether a login attempt may be checked now.
struct LoginVerdict {
  int64_t retry_after_ms = 0;   // 0: check the password.
  bool address_paused = false;  // The range reached its ceiling (L3), not just the pair (L1).
};

// What one more failure amounts to, for alerts.
struct LoginFailure {
  int pair_failures = 0;        // Failures of this (name, range) so far.
  int name_ranges = 0;          // Distinct ranges that failed for this name (L7).
  bool address_paused = false;  // This failure made the range reach its ceiling.
};

class LoginThrottle {
 public:
  explicit LoginThrottle(LoginThrottleOptions options);

  // Whether `name` may try from `address` at `now_ms` (L1, L3).
  LoginVerdict Check(const std::string& name, const std::string& address, int64_t now_ms);
  // Counts a wrong password (or unknown name) for `name` from `address`.
  LoginFailure Fail(const std::string& name, const std::string& address, int64_t now_ms);
  // A right password: forgets the pair's failures (L4).
  void Succeed(const std::string& name, const std::string& address);

  // The address range of `address` (L5): IPv4 as it is, IPv6 as "PREFIX::/64".
  static std::string AddressRange(const std::string& address);

 private:
  struct Pair {
    int failures = 0;
    int64_t last_failure_ms = 0;
  };
  int64_t DelayAfter(int failures) const;
  void MakeRoom(int64_t now_ms);  // REQUIRES(mu_)

  const LoginThrottleOptions options_;
  FailureLimiter ranges_;  // L3; thread-safe on its own.
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Pair> pairs_;  // GUARDED_BY(mu_)
  // Per name: the ranges that failed for it, each with its last failure (L7).
  std::map<std::string, std::map<std::string, int64_t>> names_;  // GUARDED_BY(mu_)
};

}  // namespace vigil::syncd::dashboard
