// POST /v1/pull bodies: syncd's CheckPull against one enrolled device, then the decode and
// signature check of SignedPull -> Pull on their own.
#include <optional>

#include "fuzz_support.h"
#include "ingest/checks.h"
#include "ingest/rate_limiter.h"
#include "vigil/protocol/signing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vigil::syncd::RateLimiter limiter(1e9, 1e9, 16);
  vigil::syncd::CheckContext context;
  context.server_id = std::string(vigil::fuzz::kServerId);
  context.rate_limiter = &limiter;
  context.find_device =
      [](const std::string& device_id) -> vigil::Result<std::optional<vigil::syncd::DeviceRecord>> {
    if (device_id != vigil::fuzz::DeviceId()) return std::optional<vigil::syncd::DeviceRecord>();
    vigil::syncd::DeviceRecord device;
    device.device_id = device_id;
    device.public_key = vigil::fuzz::DeviceKey().public_key().raw();
    return std::optional<vigil::syncd::DeviceRecord>(std::move(device));
  };
  vigil::syncd::CheckPull(vigil::fuzz::AsText(data, size), context);

  vigil::v1::SignedPull signed_pull;
  if (!signed_pull.ParseFromArray(data, static_cast<int>(size))) return 0;
  vigil::v1::Pull pull;
  if (!pull.ParseFromString(signed_pull.pull_bytes())) return 0;
  vigil::fuzz::DeviceKey().public_key().Verify(
      vigil::protocol::SignatureInput(vigil::protocol::kPullLabel, vigil::fuzz::kServerId,
                                      signed_pull.pull_bytes()),
      signed_pull.signature());
  return 0;
}
