// KeyProtector: how the device's data key is kept at rest.
//
// Every secret on the device (the Ed25519 private key, every answer, every stored batch)
// is encrypted with AES-256-GCM under one random 256-bit data key. The data key itself is
// never stored in clear: a KeyProtector wraps it. The default, PinKeyProtector, derives a
// key-encryption key from the observer's PIN with scrypt. On Android an app may implement
// KeyProtector over the platform keystore instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "vigil/status.h"

namespace vigil::client {

// Wraps and unwraps the device's data key. Implementations must make Unwrap fail with
// kPermissionDenied when the secret (PIN, keystore entry) is wrong.
class KeyProtector {
 public:
  virtual ~KeyProtector() = default;
  // Returns an opaque blob that only Unwrap with the same secret can open.
  virtual Result<std::string> Wrap(const std::string& data_key) = 0;
  // Returns the data key from a blob made by Wrap.
  virtual Result<std::string> Unwrap(const std::string& wrapped) = 0;
};

// scrypt cost parameters. The defaults (N = 2^15, r = 8, p = 1: ≈ 32 MiB, ≈ 0.1 s) follow
// RFC 7914's interactive-login advice; tests may pass a smaller log2_n.
struct ScryptParams {
  uint8_t log2_n = 15;
  uint32_t r = 8;
  uint32_t p = 1;
};

// The shortest PIN that init accepts.
inline constexpr size_t kMinPinLength = 6;

// Wraps the data key under scrypt(PIN, random salt). The PIN is copied and wiped on
// destruction; the parameters are stored inside the wrapped blob, so Unwrap uses whatever
// the blob says (bounded: log2_n ≤ 20).
std::unique_ptr<KeyProtector> MakePinKeyProtector(std::string pin, ScryptParams params = {});

}  // namespace vigil::client
