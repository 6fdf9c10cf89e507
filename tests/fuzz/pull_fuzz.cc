// POST /v1/pull bodies: syncd's CheckPull against one enrolled device, then the decode and
// signature check of SignedPull -> Pull on their own.
#include <optional>

#include "fuzz_support.h"
#include "ingest/checks.h"
#include "ingest/rate_limiter.h"
#include "vigil/protocol/signing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  static syncd::RateLimiter limiter(1e9, 1e9, 16);
  syncd::CheckContext context;
  context.server_id = std::string(fuzz::kServerId);
  context.rate_limiter = &limiter;
  context.find_device =
      [](const std::string& device_id) -> Result<std::optional<syncd::DeviceRecord>> {
    if (device_id != fuzz::DeviceId()) return std::optional<syncd::DeviceRecord>();
    syncd::DeviceRecord device;
    device.device_id = device_id;
    device.public_key = fuzz::DeviceKey().public_key().raw();
    return std::optional<syncd::DeviceRecord>(std::move(device));
  };
  syncd::CheckPull(fuzz::AsText(data, size), context);

  v1::SignedPull signed_pull;
  if (!signed_pull.ParseFromArray(data, static_cast<int>(size))) return 0;
  v1::Pull pull;
  if (!pull.ParseFromString(signed_pull.pull_bytes())) return 0;
  fuzz::DeviceKey().public_key().Verify(
      protocol::SignatureInput(protocol::kPullLabel, fuzz::kServerId, signed_pull.pull_bytes()),
      signed_pull.signature());
  return 0;
}
