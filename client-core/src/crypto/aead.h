// AES-256-GCM sealing of data at rest.
//
// Sealed layout: 0x01 (format) | 12-byte random nonce | ciphertext | 16-byte tag.
// The associated data names where the bytes live (e.g. "record:<uuid>"), so a sealed value
// copied into another row does not open.
#pragma once

#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::client::crypto {

inline constexpr size_t kKeySize = 32;

// Encrypts `plain` under the 32-byte `key`.
Result<std::string> Seal(std::string_view key, std::string_view plain, std::string_view aad);

// Decrypts a value made by Seal; kPermissionDenied when the key or aad is wrong or the bytes
// were altered (GCM cannot tell these apart).
Result<std::string> Open(std::string_view key, std::string_view sealed, std::string_view aad);

// scrypt(password, salt) -> 32 bytes.
Result<std::string> Scrypt(std::string_view password, std::string_view salt, uint8_t log2_n,
                           uint32_t r, uint32_t p);

}  // namespace vigil::client::crypto
