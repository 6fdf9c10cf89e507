#include "dashboard/sessions.h"

#include <algorithm>

#include "vigil/protocol/crypto.h"

namespace vigil::syncd::dashboard {
namespace {

constexpr size_t kTokenBytes = 32;

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
  std::lock_guard<std::mutex> lock(mu_);
  if (sessions_.size() >= options_.max_sessions) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.last_used_ms < b.second.last_used_ms;
    });
    sessions_.erase(oldest);
  }
  sessions_[protocol::Sha256(token)] = session;
  return std::make_pair(std::move(token), std::move(session));
}

std::optional<Session> SessionStore::Find(const std::string& token, int64_t now_ms, bool touch) {
  if (token.empty() || token.size() > 128) return std::nullopt;
  const std::string key = protocol::Sha256(token);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return std::nullopt;
  Session& s = it->second;
  if (now_ms - s.last_used_ms >= options_.idle_timeout_ms ||
      now_ms - s.created_ms >= options_.max_age_ms) {
    sessions_.erase(it);
    return std::nullopt;
  }
  if (touch) s.last_used_ms = std::max(s.last_used_ms, now_ms);
  return s;
}

void SessionStore::Remove(const std::string& token) {
  const std::string key = protocol::Sha256(token);
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(key);
}

void SessionStore::RemoveAllOf(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.name == name ? sessions_.erase(it) : std::next(it);
  }
}

}  // namespace vigil::syncd::dashboard
