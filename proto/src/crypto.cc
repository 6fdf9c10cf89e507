#include "vigil/protocol/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <array>

namespace vigil::protocol {
namespace {

void FreePkey(void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); }

}  // namespace

std::string Sha256(std::string_view data) {
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
             EVP_sha256(), nullptr);
  return out;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Status::Unavailable("the system random number generator failed");
  }
  return out;
}

Result<std::string> NewUuid() {
  VIGIL_ASSIGN_OR_RETURN(std::string b, RandomBytes(16));
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string hex = HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  std::string b64(text);
  for (char& c : b64) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (c == '+' || c == '/' || c == '=') {
      return Status::InvalidArgument("not base64url: contains '" + std::string(1, c) + "'");
    }
  }
  size_t pad = (4 - b64.size() % 4) % 4;
  if (pad == 3) return Status::InvalidArgument("not base64url: impossible length");
  b64.append(pad, '=');
  std::string out(3 * b64.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return Status::InvalidArgument("not base64url: bad character");
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

void SecureWipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

void Ed25519PublicKey::Deleter::operator()(void* pkey) const { FreePkey(pkey); }

Result<Ed25519PublicKey> Ed25519PublicKey::FromRaw(std::string_view raw) {
  if (raw.size() != kEd25519PublicKeySize) {
    return Status::InvalidArgument("an Ed25519 public key has 32 bytes, not " +
                                   std::to_string(raw.size()));
  }
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  if (pkey == nullptr) return Status::InvalidArgument("not a valid Ed25519 public key");
  Ed25519PublicKey key;
  key.raw_ = std::string(raw);
  key.pkey_ = std::shared_ptr<void>(pkey, FreePkey);
  return key;
}

bool Ed25519PublicKey::Verify(std::string_view message, std::string_view signature) const {
  if (!pkey_ || signature.size() != kEd25519SignatureSize) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr,
                                 static_cast<EVP_PKEY*>(pkey_.get())) == 1 &&
            EVP_DigestVerify(
                ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

Result<std::string> Ed25519PublicKey::ToPem() const {
  if (!pkey_) return Status::FailedPrecondition("empty public key");
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return Status::ResourceExhausted("out of memory");
  std::string out;
  if (PEM_write_bio_PUBKEY(bio, static_cast<EVP_PKEY*>(pkey_.get())) == 1) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(len));
  }
  BIO_free(bio);
  if (out.empty()) return Status::Internal("could not write the public key as PEM");
  return out;
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::Generate() {
  VIGIL_ASSIGN_OR_RETURN(std::string seed, RandomBytes(kEd25519SeedSize));
  auto key = FromSeed(seed);
  SecureWipe(seed);
  return key;
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::FromSeed(std::string_view seed) {
  if (seed.size() != kEd25519SeedSize) {
    return Status::InvalidArgument("an Ed25519 private key seed has 32 bytes");
  }
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  if (pkey == nullptr) return Status::Internal("OpenSSL refused the Ed25519 seed");
  Ed25519PrivateKey key;
  key.seed_ = std::string(seed);
  key.pkey_ = std::shared_ptr<void>(pkey, FreePkey);
  std::string pub(kEd25519PublicKeySize, '\0');
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(pub.data()), &len) != 1) {
    return Status::Internal("could not derive the Ed25519 public key");
  }
  VIGIL_ASSIGN_OR_RETURN(key.public_key_, Ed25519PublicKey::FromRaw(pub));
  return key;
}

Ed25519PrivateKey::~Ed25519PrivateKey() { SecureWipe(seed_); }

Result<std::string> Ed25519PrivateKey::Sign(std::string_view message) const {
  if (!pkey_) return Status::FailedPrecondition("no private key loaded");
  std::string sig(kEd25519SignatureSize, '\0');
  size_t len = sig.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return Status::ResourceExhausted("out of memory");
  bool ok =
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(pkey_.get())) ==
          1 &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len != kEd25519SignatureSize) return Status::Internal("Ed25519 signing failed");
  return sig;
}

Result<std::string> Scrypt(std::string_view password, std::string_view salt, uint8_t log2_n,
                           uint32_t r, uint32_t p, size_t out_len) {
  if (log2_n < 1 || log2_n > 20 || r == 0 || r > 32 || p == 0 || p > 16 || out_len < 16 ||
      out_len > 64) {
    return Status::InvalidArgument("scrypt parameters out of range");
  }
  std::string out(out_len, '\0');
  const uint64_t n = uint64_t{1} << log2_n;
  // OpenSSL's default memory cap (32 MiB) is just below N=2^15, r=8; allow up to 1 GiB.
  if (EVP_PBE_scrypt(password.data(), password.size(),
                     reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), n, r, p,
                     uint64_t{1} << 30, reinterpret_cast<unsigned char*>(out.data()),
                     out.size()) != 1) {
    return Status::ResourceExhausted("scrypt key derivation failed (out of memory?)");
  }
  return out;
}

}  // namespace vigil::protocol
