#include "dashboard/sessions.h"

#include <algorithm>

#include "vigil/protocol/crypto.h"

namespace vigil::syncd::dashboard {
namespace {

constexpr size_t kTokenBytes = 32;
constexpr size_t kMaxTokenChars = 128;

}  // namespace

Result<std::pair<std::string, Session>> SessionStore::Create(const std::string& name,
                                                             v1::CoordinatorRole role,
                                                             int64_t now_ms) {
  VIGIL_ASSIGN_OR_RETURN(std::string token_bytes, protocol::RandomBytes(kTokenBytes));
  VIGIL_ASSIGN_OR_RETURN(std::string csrf_bytes, protocol::RandomBytes(kTokenBytes));
  std::string token = protocol::Base64UrlEncode(token_bytes);
  Session session;
  session.name = name;
  session.role = role;
  session.csrf_token = protocol::Base64UrlEncode(csrf_bytes);
  session.created_ms = now_ms;
  session.last_used_ms = now_ms;
  CoordinatorSession row;
  row.token_hash = protocol::Sha256(token);
  row.name = name;
  row.role = role;
  row.csrf_token = session.csrf_token;
  row.created_ms = now_ms;
  row.last_used_ms = now_ms;
  SessionPruning pruning;
  pruning.max_sessions = options_.max_sessions;
  // Valid while now − last_used < idle timeout, now − created < max age (invariant 2).
  pruning.idle_before_ms = now_ms - options_.idle_timeout_ms + 1;
  pruning.created_before_ms = now_ms - options_.max_age_ms + 1;
  VIGIL_RETURN_IF_ERROR(store_.AddSession(row, pruning));
  return std::make_pair(std::move(token), std::move(session));
}

Result<std::optional<Session>> SessionStore::Find(const std::string& token, int64_t now_ms,
                                                  bool touch) {
  if (token.empty() || token.size() > kMaxTokenChars) return std::optional<Session>();
  const std::string key = protocol::Sha256(token);
  VIGIL_ASSIGN_OR_RETURN(std::optional<CoordinatorSession> row, store_.FindSession(key));
  if (!row) return std::optional<Session>();
  if (now_ms - row->last_used_ms >= options_.idle_timeout_ms ||
      now_ms - row->created_ms >= options_.max_age_ms) {
    VIGIL_RETURN_IF_ERROR(store_.RemoveSession(key));
    return std::optional<Session>();
  }
  const int64_t touch_after = std::min(options_.touch_interval_ms, options_.idle_timeout_ms / 20);
  if (touch && now_ms - row->last_used_ms >= std::max<int64_t>(touch_after, 1)) {
    VIGIL_RETURN_IF_ERROR(store_.TouchSession(key, now_ms));
    row->last_used_ms = now_ms;
  }
  Session session;
  session.name = std::move(row->name);
  session.role = row->role;
  session.csrf_token = std::move(row->csrf_token);
  session.created_ms = row->created_ms;
  session.last_used_ms = row->last_used_ms;
  return std::optional<Session>(std::move(session));
}

Status SessionStore::Remove(const std::string& token) {
  return store_.RemoveSession(protocol::Sha256(token));
}

Status SessionStore::RemoveAllOf(const std::string& name) { return store_.RemoveSessionsOf(name); }

}  // namespace vigil::syncd::dashboard
