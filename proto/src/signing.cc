#include "vigil/protocol/signing.h"

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

}  // namespace vigil::protocol
