#include "vigil/protocol/server_urls.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace vigil::protocol {
namespace {

constexpr std::string_view kScheme = "https://";

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
}

// "host" of a DNS name or IPv4 address: labels of letters, digits and '-', separated by dots,
// none empty, none starting or ending with '-'.
bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (!std::all_of(host.begin(), host.end(), IsHostChar)) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    start = dot + 1;
  }
  return true;
}

// "[…]" holding hex digits, ':' and '.' (an IPv6 address, maybe ending in IPv4 form).
bool IsBracketedIpv6(std::string_view host) {
  if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
  std::string_view inside = host.substr(1, host.size() - 2);
  return inside.find(':') != std::string_view::npos &&
         std::all_of(inside.begin(), inside.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
         });
}

bool IsPort(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  if (!std::all_of(port.begin(), port.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
    return false;
  }
  const int value = std::stoi(std::string(port));
  return value >= 1 && value <= 65535;
}

Status Bad(std::string_view url, std::string_view why) {
  return Status::InvalidArgument("server URL '" + std::string(url) + "': " + std::string(why));
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Status CheckServerUrl(std::string_view url) {
  if (url.empty()) return Status::InvalidArgument("server URL is empty");
  if (url.size() > kMaxServerUrlBytes) {
    return Status::InvalidArgument("server URL of " + std::to_string(url.size()) +
                                   " bytes (at most " + std::to_string(kMaxServerUrlBytes) +
                                   "): '" + std::string(url.substr(0, 40)) + "...'");
  }
  if (url.rfind(kScheme, 0) != 0) {
    return Bad(url, "must start with https:// (devices talk to syncd over TLS only)");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return Bad(url, "must be https://host[:port], without a path, query or fragment");
  }
  if (rest.find('@') != std::string_view::npos) return Bad(url, "must not hold a user name");
  std::string_view host = rest;
  std::string_view port;
  const size_t bracket = rest.rfind(']');
  const size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (!IsPort(port)) return Bad(url, "the port must be a number from 1 to 65535");
  }
  if (!IsHostName(host) && !IsBracketedIpv6(host)) {
    return Bad(url, "the host must be a DNS name, an IPv4 address or an IPv6 address in []");
  }
  return Status::Ok();
}

Status CheckServerUrls(const std::vector<std::string>& urls) {
  if (urls.empty()) return Status::InvalidArgument("the list of server URLs is empty");
  if (urls.size() > kMaxServerUrls) {
    return Status::InvalidArgument(std::to_string(urls.size()) + " server URLs (at most " +
                                   std::to_string(kMaxServerUrls) + ")");
  }
  std::set<std::string> seen;
  for (const std::string& url : urls) {
    VIGIL_RETURN_IF_ERROR(CheckServerUrl(url));
    if (!seen.insert(Lower(url)).second) return Bad(url, "listed twice");
  }
  return Status::Ok();
}

std::string JoinServerUrls(const std::vector<std::string>& urls) {
  std::string out;
  for (const std::string& url : urls) {
    if (!out.empty()) out += '\n';
    out += url;
  }
  return out;
}

std::vector<std::string> SplitServerUrls(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace vigil::protocol
