// Coordinators' sessions. They live in the store's database (CoordinatorStore, table
// coordinator_sessions), so a session made on one syncd node works on every node of the
// deployment and survives a restart of syncd; the session token itself is never written to
// disk or to a log.
//
// INVARIANTS
//  1. A session is found only by its token; the table keys on SHA-256(token), so that a
//     lookup leaks nothing about other tokens' bytes, and the database holds no token.
//  2. A session is valid while now − last_used < idle timeout and now − created < max age;
//     an invalid session is removed when seen and never revived.
//  3. The table holds at most max_sessions; creating one more evicts the least recently used
//     (and, first, every expired one). Logins committing at the same moment on several nodes
//     of one PostgreSQL database do not see each other's new row, so the table may then hold
//     one more per such login until the next login trims it.
//  4. A use is written to the database only when the stored last use is at least
//     min(touch_interval_ms, idle timeout / 20) old (60 s by default), not on every request:
//     a session may therefore end up to that much earlier than its idle timeout says, and
//     "least recently used" is as precise as that.
//  5. Disabling a coordinator removes all of its sessions (the store does it in the same
//     transaction; RemoveAllOf does it on request).
//  6. Every method is thread-safe; a failure of the store is returned, never taken for "no
//     session".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "store/coordinator_store.h"
#include "vigil/status.h"
#include "vigil/v1/dashboard.pb.h"

namespace vigil::syncd::dashboard {

// A logged-in coordinator.
struct Session {
  std::string name;
  v1::CoordinatorRole role = v1::ROLE_VIEWER;
  std::string csrf_token;
  int64_t created_ms = 0;
  int64_t last_used_ms = 0;
};

// Limits of the session table.
struct SessionOptions {
  int64_t idle_timeout_ms = 120 * 60 * 1000;
  int64_t max_age_ms = 12 * 3600 * 1000;
  size_t max_sessions = 1000;
  // A use is recorded when the stored one is at least this old, or idle_timeout_ms / 20 when
  // that is less (invariant 4); 0: every use is recorded.
  int64_t touch_interval_ms = 60 * 1000;
};

class SessionStore {
 public:
  // `store` must outlive the SessionStore.
  SessionStore(CoordinatorStore& store, SessionOptions options)
      : store_(store), options_(options) {}

  // A new session; returns its token (random, base64url) with it.
  Result<std::pair<std::string, Session>> Create(const std::string& name, v1::CoordinatorRole role,
                                                 int64_t now_ms);
  // The valid session of `token`, marked used at `now_ms` when `touch` (invariant 4); nullopt
  // when there is none.
  Result<std::optional<Session>> Find(const std::string& token, int64_t now_ms, bool touch);
  // Ends the session of `token` (no-op when unknown).
  Status Remove(const std::string& token);
  // Ends every session of a coordinator (disabled).
  Status RemoveAllOf(const std::string& name);
  const SessionOptions& options() const { return options_; }

 private:
  CoordinatorStore& store_;
  const SessionOptions options_;
};

}  // namespace vigil::syncd::dashboard
