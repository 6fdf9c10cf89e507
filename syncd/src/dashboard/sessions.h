// Coordinators' sessions. They live in memory: a restart of syncd logs everyone out, and a
// session token is never written to disk or to a log.
//
// INVARIANTS
//  1. A session is found only by its token; the table keys on SHA-256(token), so that a
//     lookup leaks nothing about other tokens' bytes.
//  2. A session is valid while now − last_used < idle timeout and now − created < max age;
//     an invalid session is removed when seen and never revived.
//  3. The table holds at most max_sessions; creating one more evicts the least recently used.
//  4. Every method is thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

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
};

class SessionStore {
 public:
  explicit SessionStore(SessionOptions options) : options_(options) {}

  // A new session; returns its token (random, base64url) with it.
  Result<std::pair<std::string, Session>> Create(const std::string& name, v1::CoordinatorRole role,
                                                 int64_t now_ms);
  // The valid session of `token`, marked used at `now_ms` when `touch`; nullopt otherwise.
  std::optional<Session> Find(const std::string& token, int64_t now_ms, bool touch);
  // Ends the session of `token` (no-op when unknown).
  void Remove(const std::string& token);
  // Ends every session of a coordinator (disabled).
  void RemoveAllOf(const std::string& name);
  const SessionOptions& options() const { return options_; }

 private:
  const SessionOptions options_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;  // SHA-256(token) -> session. GUARDED_BY(mu_)
};

}  // namespace vigil::syncd::dashboard
