// Coordinators' accounts and what they do (docs/dashboard.md): the dashboard's users and the
// audit entries of their logins.
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

// Coordinator accounts. Synchronous; thread-safe.
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
};

}  // namespace vigil::syncd
