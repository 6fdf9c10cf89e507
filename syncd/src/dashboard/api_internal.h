// What api.cc and api_handlers.cc share; not part of the dashboard's interface.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "dashboard/api.h"
#include "google/protobuf/message.h"

namespace vigil::syncd::dashboard {

// The session cookie's name.
inline constexpr const char* kCookieName = "vigil_session";

// One /api/ request with its parsed target and session.
struct Dashboard::Call {
  const HttpRequest& request;
  std::string path;                           // Without the query.
  std::map<std::string, std::string> query;   // Decoded; the last value of a repeated key.
  std::string token;                          // The session cookie's value.
  std::optional<dashboard::Session> session;  // Set for every route but login.
  int64_t now_ms = 0;

  // The query parameter, or "" when absent.
  const std::string& Param(const std::string& key) const {
    static const std::string kNone;
    auto it = query.find(key);
    return it == query.end() ? kNone : it->second;
  }
};

// An /api/ refusal: `status` with an ApiError body.
HttpResponse ApiError(int status, const std::string& code, const std::string& message);
// A 200 answer with `message` in protobuf's JSON mapping.
HttpResponse JsonAnswer(const google::protobuf::Message& message);
// The HTTP refusal for a store failure (NotFound → 404 and so on).
HttpResponse StoreError(const Status& status);
// Parses a JSON body into `message`; unknown fields are refused.
Status ParseJsonBody(const std::string& body, google::protobuf::Message& message);
// A page request from `page` and `page_size` parameters; InvalidArgument when not numbers.
Result<PageRequest> PageParams(const Dashboard::Call& call);
// Whether the session's role is at least `role`.
bool RoleAtLeast(const Dashboard::Call& call, v1::CoordinatorRole role);
// "FORBIDDEN" answer naming what the role would need.
HttpResponse Forbidden(const std::string& what, v1::CoordinatorRole needed);

}  // namespace vigil::syncd::dashboard
