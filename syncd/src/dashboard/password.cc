#include "dashboard/password.h"

#include <vector>

#include "store/inert_text.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/form_rules.h"

namespace vigil::syncd::dashboard {
namespace {

constexpr uint8_t kLog2N = 15;
constexpr uint32_t kR = 8;
constexpr uint32_t kP = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool ParseSmall(std::string_view text, uint32_t max, uint32_t& out) {
  if (text.empty() || text.size() > 4) return false;
  out = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint32_t>(c - '0');
  }
  return out >= 1 && out <= max;
}

}  // namespace

Status CheckCoordinatorName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("a coordinator name has 1 to " + std::to_string(kMaxNameBytes) +
                                   " bytes");
  }
  if (protocol::Utf8Length(name) < 0) {
    return Status::InvalidArgument("a coordinator name must be valid UTF-8");
  }
  if (!IsInertText(name)) {
    return Status::InvalidArgument(
        "a coordinator name may hold printable characters only (no control characters, line "
        "breaks or bidirectional controls)");
  }
  if (name.front() == ' ' || name.back() == ' ') {
    return Status::InvalidArgument("a coordinator name may not start or end with a space");
  }
  return Status::Ok();
}

Status CheckPasswordPolicy(std::string_view password) {
  const long length = protocol::Utf8Length(password);
  if (length < 0) return Status::InvalidArgument("the password is not valid UTF-8");
  if (static_cast<size_t>(length) < kMinPasswordChars) {
    return Status::InvalidArgument("the password needs at least " +
                                   std::to_string(kMinPasswordChars) + " characters");
  }
  if (static_cast<size_t>(length) > kMaxPasswordChars) {
    return Status::InvalidArgument("the password may have at most " +
                                   std::to_string(kMaxPasswordChars) + " characters");
  }
  return Status::Ok();
}

Result<std::string> HashPassword(std::string_view password) {
  VIGIL_RETURN_IF_ERROR(CheckPasswordPolicy(password));
  VIGIL_ASSIGN_OR_RETURN(std::string salt, protocol::RandomBytes(kSaltBytes));
  VIGIL_ASSIGN_OR_RETURN(std::string hash,
                         protocol::Scrypt(password, salt, kLog2N, kR, kP, kHashBytes));
  return "scrypt$" + std::to_string(kLog2N) + "$" + std::to_string(kR) + "$" + std::to_string(kP) +
         "$" + protocol::Base64UrlEncode(salt) + "$" + protocol::Base64UrlEncode(hash);
}

bool VerifyPassword(std::string_view password, std::string_view encoded) {
  if (password.size() > 4 * kMaxPasswordChars) return false;
  std::vector<std::string_view> parts = Split(encoded, '$');
  uint32_t log2_n = 0, r = 0, p = 0;
  if (parts.size() != 6 || parts[0] != "scrypt" || !ParseSmall(parts[1], 20, log2_n) ||
      !ParseSmall(parts[2], 32, r) || !ParseSmall(parts[3], 16, p)) {
    return false;
  }
  Result<std::string> salt = protocol::Base64UrlDecode(parts[4]);
  Result<std::string> expected = protocol::Base64UrlDecode(parts[5]);
  if (!salt.ok() || !expected.ok() || expected->size() < 16 || expected->size() > 64) {
    return false;
  }
  Result<std::string> actual =
      protocol::Scrypt(password, *salt, static_cast<uint8_t>(log2_n), r, p, expected->size());
  return actual.ok() && protocol::ConstantTimeEquals(*actual, *expected);
}

}  // namespace vigil::syncd::dashboard
