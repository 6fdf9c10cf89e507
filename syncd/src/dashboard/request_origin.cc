#include "dashboard/request_origin.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace vigil::syncd::dashboard {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "host:port" with the scheme's default port made explicit; "" when `authority` is empty or
// holds anything but a host and an optional port (no user info, path or spaces).
std::string Authority(std::string_view authority, std::string_view scheme) {
  if (authority.empty() || authority.size() > 255) return "";
  for (char c : authority) {
    if (c == '/' || c == '@' || c == '?' || c == '#' || c == ' ' || c == '\\' ||
        static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) >= 0x7f) {
      return "";
    }
  }
  const size_t bracket = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  const bool has_port =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  std::string out = Lower(authority);
  if (has_port) {
    if (colon + 1 == authority.size())
      out.pop_back();  // "host:" means the default port.
    else
      return out;
  }
  return out + (scheme == "https" ? ":443" : ":80");
}

}  // namespace

Status CheckRequestOrigin(const HttpRequest& request, bool tls) {
  const std::string& fetch_site = request.Header("sec-fetch-site");
  if (!fetch_site.empty()) {
    const std::string site = Lower(Trim(fetch_site));
    if (site != "same-origin" && site != "none") {
      return Status::PermissionDenied("Sec-Fetch-Site is \"" + site.substr(0, 32) +
                                      "\": only syncd's own page may do this");
    }
  }
  if (request.headers.count("origin") == 0) return Status::Ok();
  const std::string_view origin = Trim(request.Header("origin"));
  const size_t separator = origin.find("://");
  const std::string scheme =
      separator == std::string_view::npos ? "" : Lower(origin.substr(0, separator));
  const bool scheme_ok = scheme == "https" || (!tls && scheme == "http");
  const std::string host =
      Trim(request.Header("host")).empty() ? "" : Authority(Trim(request.Header("host")), scheme);
  if (!scheme_ok || host.empty() || Authority(origin.substr(separator + 3), scheme) != host) {
    return Status::PermissionDenied("Origin " + std::string(origin.substr(0, 100)) +
                                    " is not this server's own: only syncd's own page may do "
                                    "this");
  }
  return Status::Ok();
}

bool IsJsonContentType(const std::string& content_type) {
  std::string_view value = content_type;
  value = Trim(value.substr(0, value.find(';')));
  return Lower(value) == "application/json";
}

}  // namespace vigil::syncd::dashboard
