// Coordinators' credentials (docs/dashboard.md "Access"): names are printable text; passwords
// are stored only as scrypt hashes. Encoding: "scrypt$LOG2N$R$P$SALT$HASH" with SALT and HASH in
// base64url, so that stronger parameters later still verify old hashes.
#pragma once

#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::syncd::dashboard {

// Shortest and longest password accepted, in characters (UTF-8 code points).
inline constexpr size_t kMinPasswordChars = 10;
inline constexpr size_t kMaxPasswordChars = 256;

// Longest coordinator name, in bytes.
inline constexpr size_t kMaxNameBytes = 64;

// InvalidArgument naming the rule a coordinator name breaks: 1–64 bytes of strict UTF-8,
// printable characters only (no control characters, line separators or bidirectional
// controls: store/inert_text.h), no space at either end.
Status CheckCoordinatorName(std::string_view name);

// InvalidArgument naming the rule a password breaks.
Status CheckPasswordPolicy(std::string_view password);

// A new hash of `password` with a random salt (N=2^15, r=8, p=1).
Result<std::string> HashPassword(std::string_view password);

// Whether `password` matches `encoded`, comparing in constant time. False for a malformed or
// out-of-range encoding.
bool VerifyPassword(std::string_view password, std::string_view encoded);

}  // namespace vigil::syncd::dashboard
