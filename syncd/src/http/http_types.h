// Requests and answers as syncd's handlers see them: no sockets, no Beast.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vigil::syncd {

// A request as the handlers need it.
struct HttpRequest {
  HttpRequest() = default;
  HttpRequest(std::string method_, std::string target_, std::string body_ = "")
      : method(std::move(method_)), target(std::move(target_)), body(std::move(body_)) {}

  std::string method;  // "GET", "POST", …
  std::string target;  // "/v1/push", "/api/cases?status=open"
  std::string body;
  // The few request headers handlers read, by lower-case name: cookie, x-csrf-token, origin,
  // sec-fetch-site, content-type, host. Others are not kept.
  std::map<std::string, std::string> headers;
  std::string remote_address;  // The peer's IP address; "" in tests without sockets.

  // The header's value, or "" when absent.
  const std::string& Header(const std::string& lower_case_name) const {
    static const std::string kNone;
    auto it = headers.find(lower_case_name);
    return it == headers.end() ? kNone : it->second;
  }
};

// Server-Sent Events: instead of a body, the server keeps the connection and writes each
// chunk the subscription delivers until the client leaves or the sink is told to stop.
struct EventStreamSource {
  // Subscribes a sink (false from the sink: "my stream is gone"); 0 when refused.
  std::function<uint64_t(std::function<bool(const std::string&)>)> subscribe;
  std::function<void(uint64_t)> unsubscribe;
  std::string first_chunk;  // Written right after the header.
};

// An answer. `note` is for the request log (an error code name, never a secret).
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/x-protobuf";
  std::string body;
  std::string note;
  std::vector<std::pair<std::string, std::string>> headers;  // Extra response headers.
  std::shared_ptr<EventStreamSource> event_stream;           // Set: an SSE stream, no body.
};

}  // namespace vigil::syncd
