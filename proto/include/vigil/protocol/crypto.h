// The cryptography both sides of the protocol share: SHA-256, Ed25519, constant-time
// comparison, random bytes and base64url. Thin wrappers over OpenSSL 3.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::protocol {

inline constexpr size_t kSha256Size = 32;
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

// SHA-256 of `data`, 32 raw bytes.
std::string Sha256(std::string_view data);

// Lower-case hex of `bytes`.
std::string HexEncode(std::string_view bytes);

// True when a and b have the same length and bytes; time depends only on the length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// `n` bytes from OpenSSL's CSPRNG. Fails only if the RNG cannot be seeded.
Result<std::string> RandomBytes(size_t n);

// A random version-4 UUID, lower-case with dashes.
Result<std::string> NewUuid();

// base64url without padding (RFC 4648 §5), as used in QR payloads.
std::string Base64UrlEncode(std::string_view bytes);
Result<std::string> Base64UrlDecode(std::string_view text);

// Overwrites a string's bytes before it is freed (for keys and PINs).
void SecureWipe(std::string& secret);

// scrypt (RFC 7914) with N = 2^log2_n: `out_len` bytes derived from a password. Bounds:
// 1 ≤ log2_n ≤ 20, 1 ≤ r ≤ 32, 1 ≤ p ≤ 16, 16 ≤ out_len ≤ 64; memory up to 1 GiB.
Result<std::string> Scrypt(std::string_view password, std::string_view salt, uint8_t log2_n,
                           uint32_t r, uint32_t p, size_t out_len = 32);

// An Ed25519 public key that can verify signatures. Thread-safe for concurrent Verify.
class Ed25519PublicKey {
 public:
  // From the 32 raw key bytes.
  static Result<Ed25519PublicKey> FromRaw(std::string_view raw);

  // True when `signature` is a valid signature of `message` by this key.
  bool Verify(std::string_view message, std::string_view signature) const;

  // The 32 raw key bytes.
  const std::string& raw() const { return raw_; }

  // The key as a PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"), for openssl.
  Result<std::string> ToPem() const;

 private:
  struct Deleter {
    void operator()(void* pkey) const;
  };
  std::string raw_;
  std::shared_ptr<void> pkey_;  // EVP_PKEY*, shared so copies are cheap.
};

// An Ed25519 private key. Holds the 32-byte seed; wipes it when destroyed.
class Ed25519PrivateKey {
 public:
  // A fresh key pair from the CSPRNG.
  static Result<Ed25519PrivateKey> Generate();
  // From a 32-byte seed (as stored).
  static Result<Ed25519PrivateKey> FromSeed(std::string_view seed);

  Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept = default;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&&) noexcept = default;
  ~Ed25519PrivateKey();

  // The 64-byte signature of `message`.
  Result<std::string> Sign(std::string_view message) const;

  const Ed25519PublicKey& public_key() const { return public_key_; }
  // The secret seed. Only for encrypting it at rest.
  const std::string& seed() const { return seed_; }

 private:
  Ed25519PrivateKey() = default;
  std::string seed_;
  std::shared_ptr<void> pkey_;  // EVP_PKEY*
  Ed25519PublicKey public_key_;
};

}  // namespace vigil::protocol
