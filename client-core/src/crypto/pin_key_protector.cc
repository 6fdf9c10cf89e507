// PinKeyProtector: the data key wrapped under scrypt(PIN).
//
// Blob layout: "VPK1" | log2_n (1) | r (4, big-endian) | p (4, big-endian) | salt (16) |
//              AES-256-GCM sealed data key (aad "vigil/pin-wrap")
#include <cstring>

#include "crypto/aead.h"
#include "vigil/client/key_protector.h"
#include "vigil/protocol/crypto.h"

namespace vigil::client {
namespace {

constexpr std::string_view kMagic = "VPK1";
constexpr size_t kSaltSize = 16;
constexpr std::string_view kWrapAad = "vigil/pin-wrap";

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

uint32_t GetU32(std::string_view in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

class PinKeyProtector final : public KeyProtector {
 public:
  PinKeyProtector(std::string pin, ScryptParams params) : pin_(std::move(pin)), params_(params) {}
  ~PinKeyProtector() override { protocol::SecureWipe(pin_); }

  Result<std::string> Wrap(const std::string& data_key) override {
    VIGIL_ASSIGN_OR_RETURN(std::string salt, protocol::RandomBytes(kSaltSize));
    VIGIL_ASSIGN_OR_RETURN(std::string kek,
                           crypto::Scrypt(pin_, salt, params_.log2_n, params_.r, params_.p));
    auto sealed = crypto::Seal(kek, data_key, kWrapAad);
    protocol::SecureWipe(kek);
    if (!sealed.ok()) return sealed.status();
    std::string blob(kMagic);
    blob.push_back(static_cast<char>(params_.log2_n));
    PutU32(blob, params_.r);
    PutU32(blob, params_.p);
    blob += salt;
    blob += *sealed;
    return blob;
  }

  Result<std::string> Unwrap(const std::string& wrapped) override {
    constexpr size_t kHeader = 4 + 1 + 4 + 4 + kSaltSize;
    if (wrapped.size() <= kHeader || wrapped.compare(0, 4, kMagic) != 0) {
      return Status::DataLoss("the wrapped device key is corrupt");
    }
    std::string_view view(wrapped);
    uint8_t log2_n = static_cast<uint8_t>(view[4]);
    uint32_t r = GetU32(view.substr(5));
    uint32_t p = GetU32(view.substr(9));
    std::string_view salt = view.substr(13, kSaltSize);
    VIGIL_ASSIGN_OR_RETURN(std::string kek, crypto::Scrypt(pin_, salt, log2_n, r, p));
    auto key = crypto::Open(kek, view.substr(kHeader), kWrapAad);
    protocol::SecureWipe(kek);
    if (!key.ok()) {
      if (key.status().code() == StatusCode::kPermissionDenied) {
        return Status::PermissionDenied("wrong PIN");
      }
      return key.status();
    }
    return key;
  }

 private:
  std::string pin_;
  ScryptParams params_;
};

}  // namespace

std::unique_ptr<KeyProtector> MakePinKeyProtector(std::string pin, ScryptParams params) {
  return std::make_unique<PinKeyProtector>(std::move(pin), params);
}

}  // namespace vigil::client
