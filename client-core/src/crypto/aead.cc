#include "crypto/aead.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>

#include "vigil/protocol/crypto.h"

namespace vigil::client::crypto {
namespace {

constexpr char kFormat = 0x01;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

}  // namespace

Result<std::string> Seal(std::string_view key, std::string_view plain, std::string_view aad) {
  if (key.size() != kKeySize) return Status::Internal("AES-256-GCM needs a 32-byte key");
  VIGIL_ASSIGN_OR_RETURN(std::string nonce, protocol::RandomBytes(kNonceSize));
  std::string out;
  out.resize(1 + kNonceSize + plain.size() + kTagSize);
  out[0] = kFormat;
  out.replace(1, kNonceSize, nonce);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  unsigned char* body = U(out) + 1 + kNonceSize;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key), U(nonce)) &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) &&
            EVP_EncryptUpdate(ctx.get(), body, &len, U(plain), static_cast<int>(plain.size())) &&
            EVP_EncryptFinal_ex(ctx.get(), body + len, &len) &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, body + plain.size());
  if (!ok) return Status::Internal("AES-256-GCM encryption failed");
  return out;
}

Result<std::string> Open(std::string_view key, std::string_view sealed, std::string_view aad) {
  if (key.size() != kKeySize) return Status::Internal("AES-256-GCM needs a 32-byte key");
  if (sealed.size() < 1 + kNonceSize + kTagSize || sealed[0] != kFormat) {
    return Status::DataLoss("sealed value is truncated or of an unknown format");
  }
  std::string_view nonce = sealed.substr(1, kNonceSize);
  std::string_view body = sealed.substr(1 + kNonceSize, sealed.size() - 1 - kNonceSize - kTagSize);
  std::string tag(sealed.substr(sealed.size() - kTagSize));
  std::string plain(body.size(), '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key), U(nonce)) &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) &&
            EVP_DecryptUpdate(ctx.get(), U(plain), &len, U(body), static_cast<int>(body.size())) &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, U(tag)) &&
            EVP_DecryptFinal_ex(ctx.get(), U(plain) + len, &len) > 0;
  if (!ok) {
    protocol::SecureWipe(plain);
    return Status::PermissionDenied("decryption failed: wrong key or altered data");
  }
  return plain;
}

Result<std::string> Scrypt(std::string_view password, std::string_view salt, uint8_t log2_n,
                           uint32_t r, uint32_t p) {
  return protocol::Scrypt(password, salt, log2_n, r, p, kKeySize);
}

}  // namespace vigil::client::crypto
