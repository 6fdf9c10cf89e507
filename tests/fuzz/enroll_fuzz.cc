// POST /v1/enroll bodies (syncd's CheckEnroll: decode, key size, proof signature) and the
// enrollment QR payload a device decodes (base64url EnrollmentPayload).
#include "fuzz_support.h"
#include "ingest/checks.h"
#include "vigil/v1/sync.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = vigil::fuzz::AsText(data, size);
  vigil::syncd::CheckContext context;
  context.server_id = std::string(vigil::fuzz::kServerId);
  context.find_device =
      [](const std::string&) -> vigil::Result<std::optional<vigil::syncd::DeviceRecord>> {
    return std::optional<vigil::syncd::DeviceRecord>();
  };
  vigil::syncd::CheckEnroll(text, context);

  vigil::Result<std::string> decoded = vigil::protocol::Base64UrlDecode(text);
  if (decoded.ok()) {
    vigil::v1::EnrollmentPayload payload;
    if (payload.ParseFromString(*decoded)) {
      vigil::protocol::Base64UrlEncode(payload.SerializeAsString());
    }
  }
  return 0;
}
