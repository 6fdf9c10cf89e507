// POST /v1/enroll bodies (syncd's CheckEnroll: decode, key size, proof signature) and the
// enrollment QR payload a device decodes (base64url EnrollmentPayload).
#include "fuzz_support.h"
#include "ingest/checks.h"
#include "vigil/v1/sync.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  std::string_view text = fuzz::AsText(data, size);
  syncd::CheckContext context;
  context.server_id = std::string(fuzz::kServerId);
  context.find_device = [](const std::string&) -> Result<std::optional<syncd::DeviceRecord>> {
    return std::optional<syncd::DeviceRecord>();
  };
  syncd::CheckEnroll(text, context);

  Result<std::string> decoded = protocol::Base64UrlDecode(text);
  if (decoded.ok()) {
    v1::EnrollmentPayload payload;
    if (payload.ParseFromString(*decoded)) {
      protocol::Base64UrlEncode(payload.SerializeAsString());
    }
  }
  return 0;
}
