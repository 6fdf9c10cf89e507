// POST /v1/push bodies: syncd's checks (size, decode, device, signature) against one enrolled
// device, then the protocol layer alone past the signature (which a fuzzer cannot forge):
// SignedBatch -> Batch -> DecodePayload (zstd included) -> CheckSequence.
#include <optional>

#include "fuzz_support.h"
#include "ingest/checks.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/protocol/signing.h"

namespace vigil {
namespace {

Result<std::optional<syncd::DeviceRecord>> FindDevice(const std::string& device_id) {
  if (device_id != fuzz::DeviceId()) return std::optional<syncd::DeviceRecord>();
  syncd::DeviceRecord device;
  device.device_id = device_id;
  device.public_key = fuzz::DeviceKey().public_key().raw();
  device.observer_id = "obs1";
  return std::optional<syncd::DeviceRecord>(std::move(device));
}

}  // namespace
}  // namespace vigil

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = vigil::fuzz::AsText(data, size);

  vigil::syncd::CheckContext context;
  context.server_id = std::string(vigil::fuzz::kServerId);
  context.find_device = vigil::FindDevice;
  vigil::syncd::PushCheck check = vigil::syncd::CheckPush(body, context);
  if (check.refusal) {
    vigil::syncd::RefusalForOutcome(vigil::syncd::AppendOutcome{});
  }

  vigil::v1::SignedBatch signed_batch;
  if (!signed_batch.ParseFromArray(data, static_cast<int>(size))) return 0;
  vigil::fuzz::DeviceKey().public_key().Verify(
      vigil::protocol::SignatureInput(vigil::protocol::kBatchLabel, vigil::fuzz::kServerId,
                                      signed_batch.batch_bytes()),
      signed_batch.signature());
  vigil::v1::Batch batch;
  if (!batch.ParseFromString(signed_batch.batch_bytes())) return 0;
  vigil::Result<vigil::v1::RecordList> records = vigil::protocol::DecodePayload(batch);
  if (records.ok()) {
    for (const vigil::v1::Record& record : records->records()) vigil::protocol::RecordId(record);
  }
  std::string hash = vigil::protocol::Sha256(signed_batch.batch_bytes());
  uint64_t seq = batch.batch_seq();
  for (uint64_t last : {uint64_t{0}, seq - 1, seq, seq + 5}) {
    vigil::protocol::CheckSequence(last, batch.prev_batch_hash(), seq, batch.prev_batch_hash(),
                                   hash, hash);
    vigil::protocol::CheckSequence(last, hash, seq, batch.prev_batch_hash(), hash,
                                   vigil::protocol::GenesisHash());
  }
  return 0;
}
