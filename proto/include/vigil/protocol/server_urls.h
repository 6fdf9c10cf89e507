// The deployment's server URLs (docs/protocol.md §5.1): where devices reach syncd's nodes. The
// same rules on both sides: `syncd admin server-urls set` refuses a list that breaks them, and a
// device ignores one from a pull that does.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::protocol {

// Most URLs a deployment lists.
inline constexpr size_t kMaxServerUrls = 16;
// Longest URL, in bytes.
inline constexpr size_t kMaxServerUrlBytes = 256;

// OK when `url` is "https://host" or "https://host:port": host a DNS name, an IPv4 address or
// a bracketed IPv6 address; port 1..65535; no user, path, query or fragment; at most
// kMaxServerUrlBytes. Plain http is refused (devices talk TLS only). InvalidArgument names
// the URL and what is wrong.
Status CheckServerUrl(std::string_view url);

// OK when `urls` holds 1..kMaxServerUrls URLs, each passing CheckServerUrl, none twice (host
// names compared without case). InvalidArgument names the first bad URL.
Status CheckServerUrls(const std::vector<std::string>& urls);

// The list as stored (syncd's settings, the device's meta): one URL per line.
std::string JoinServerUrls(const std::vector<std::string>& urls);
// The stored form back into a list; empty lines are skipped.
std::vector<std::string> SplitServerUrls(std::string_view text);

}  // namespace vigil::protocol
