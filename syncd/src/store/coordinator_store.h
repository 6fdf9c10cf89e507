// Coordinators' accounts and what they do (docs/dashboard.md): the dashboard's users, their
// sessions and the audit entries of their logins.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"
#include "vigil/v1/dashboard.pb.h"
#include "vigil/v1/merge.pb.h"

namespace vigil::syncd {

// A coordinator as stored: the password only as its scrypt hash (dashboard/password.h).
struct CoordinatorRecord {
  std::string name;
  v1::CoordinatorRole role = v1::ROLE_VIEWER;
  std::string password_hash;
  int64_t created_at_ms = 0;
  bool disabled = false;
};

// A coordinator's session as stored (table coordinator_sessions): keyed by the SHA-256 of its
// token, never by the token itself (dashboard/sessions.h keeps the rules of its lifetime).
struct CoordinatorSession {
  std::string token_hash;  // SHA-256(token), 32 bytes.
  std::string name;
  v1::CoordinatorRole role = v1::ROLE_VIEWER;
  std::string csrf_token;
  int64_t created_ms = 0;
  int64_t last_used_ms = 0;
};

// What adding a session clears away first: sessions idle since before `idle_before_ms` or
// created before `created_before_ms`, then the least recently used beyond `max_sessions - 1`.
struct SessionPruning {
  size_t max_sessions = 1000;
  int64_t idle_before_ms = 0;
  int64_t created_before_ms = 0;
};

// Coordinator accounts and sessions. Synchronous; thread-safe. Sessions live in the database,
// so every node of a deployment (and a restarted syncd) sees the same ones.

class CoordinatorStore {
 public:
  virtual ~CoordinatorStore() = default;

  // AlreadyExists when the name is taken.
  virtual Status AddCoordinator(const CoordinatorRecord& coordinator) = 0;
  // The coordinator, or nullopt when unknown.
  virtual Result<std::optional<CoordinatorRecord>> FindCoordinator(const std::string& name) = 0;
  // Every coordinator by name, without password hashes.
  virtual Result<v1::CoordinatorList> ListCoordinators() = 0;
  // NotFound when unknown.
  virtual Status SetCoordinatorDisabled(const std::string& name, bool disabled) = 0;
  // Appends to the audit log (logins, logouts; other actions log themselves).
  virtual Status LogCoordinatorAction(const v1::AuditEntry& entry) = 0;

  // Stores a new session after the pruning (SessionPruning); InvalidArgument unless the token
  // hash has 32 bytes, NotFound when the coordinator is unknown.
  virtual Status AddSession(const CoordinatorSession& session, const SessionPruning& pruning) = 0;
  // The session of `token_hash`, valid or not, or nullopt when there is none.
  virtual Result<std::optional<CoordinatorSession>> FindSession(const std::string& token_hash) = 0;
  // Sets the session's last_used_ms to `used_ms` if it is earlier (never backwards). On
  // PostgreSQL a session another node is touching at the same moment is left to that node.
  virtual Status TouchSession(const std::string& token_hash, int64_t used_ms) = 0;
  // Ends one session (no-op when unknown).
  virtual Status RemoveSession(const std::string& token_hash) = 0;
  // Ends every session of coordinator `name`; SetCoordinatorDisabled(name, true) does it too,
  // in its own transaction.
  virtual Status RemoveSessionsOf(const std::string& name) = 0;
};

}  // namespace vigil::syncd
