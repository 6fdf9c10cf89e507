#include "vigil/protocol/signing.h"

#include "vigil/protocol/crypto.h"

namespace vigil::protocol {

std::string SignatureInput(std::string_view label, std::string_view context,
                           std::string_view payload) {
  std::string input;
  input.reserve(label.size() + context.size() + payload.size() + 2);
  input.append(label);
  input.push_back('\0');
  input.append(context);
  input.push_back('\0');
  input.append(payload);
  return input;
}

std::string DeviceIdFromPublicKey(std::string_view raw_public_key) {
  return "d" + HexEncode(Sha256(raw_public_key).substr(0, 16));
}

}  // namespace vigil::protocol
