#include "ingest/checks.h"

#include <algorithm>

#include "vigil/protocol/crypto.h"
#include "vigil/protocol/signing.h"

namespace vigil::syncd {
namespace {

std::optional<Refusal> CheckSize(std::string_view body, const CheckContext& context) {
  if (body.size() > context.max_body_bytes) {
    return MakeRefusal(v1::TOO_LARGE, "body of " + std::to_string(body.size()) +
                                          " bytes exceeds the limit of " +
                                          std::to_string(context.max_body_bytes));
  }
  return std::nullopt;
}

// Steps 3 and 4: the device exists, is active and within its rate.
std::optional<Refusal> CheckDevice(const std::string& device_id, const CheckContext& context,
                                   DeviceRecord& device) {
  if (device_id.empty() || device_id.size() > 64) {
    return MakeRefusal(v1::MALFORMED, "device_id missing or too long");
  }
  Result<std::optional<DeviceRecord>> found = context.find_device(device_id);
  if (!found.ok()) {
    return MakeRefusal(v1::UNAVAILABLE, "device lookup failed: " + found.status().message());
  }
  if (!found->has_value()) return MakeRefusal(v1::UNKNOWN_DEVICE, "unknown device " + device_id);
  device = std::move(**found);
  if (!device.active) {
    return MakeRefusal(v1::DEVICE_REVOKED, "device " + device_id + " is revoked");
  }
  // Checked here, charged only once the signature verifies (ChargeRate): forged requests
  // naming a real device must not spend its allowance.
  if (context.rate_limiter != nullptr &&
      !context.rate_limiter->HasToken(device_id, context.now_ms)) {
    return MakeRefusal(v1::RATE_LIMITED, "device " + device_id + " sends too fast; retry later");
  }
  return std::nullopt;
}

// Spends one of the device's requests, after its signature verified.
void ChargeRate(const CheckContext& context, const std::string& device_id) {
  if (context.rate_limiter != nullptr) context.rate_limiter->Take(device_id, context.now_ms);
}

std::optional<Refusal> CheckSignature(const DeviceRecord& device, std::string_view label,
                                      std::string_view server_id, std::string_view payload,
                                      std::string_view signature) {
  if (signature.size() != protocol::kEd25519SignatureSize) {
    return MakeRefusal(v1::BAD_SIGNATURE, "signature is not 64 bytes");
  }
  Result<protocol::Ed25519PublicKey> key = protocol::Ed25519PublicKey::FromRaw(device.public_key);
  if (!key.ok()) return MakeRefusal(v1::INTERNAL, "stored device key is unusable");
  if (!key->Verify(protocol::SignatureInput(label, server_id, payload), signature)) {
    return MakeRefusal(v1::BAD_SIGNATURE, "signature does not verify with the device's key");
  }
  return std::nullopt;
}

}  // namespace

PushCheck CheckPush(std::string_view body, const CheckContext& context) {
  PushCheck check;
  if ((check.refusal = CheckSize(body, context))) return check;

  v1::SignedBatch signed_batch;
  v1::Batch batch;
  if (!signed_batch.ParseFromArray(body.data(), static_cast<int>(body.size())) ||
      signed_batch.batch_bytes().empty()) {
    check.refusal = MakeRefusal(v1::MALFORMED, "body is not a SignedBatch");
    return check;
  }
  if (!batch.ParseFromString(signed_batch.batch_bytes())) {
    check.refusal = MakeRefusal(v1::MALFORMED, "batch_bytes is not a Batch");
    return check;
  }
  if (batch.batch_seq() == 0) {
    check.refusal = MakeRefusal(v1::MALFORMED, "batch_seq starts at 1");
    return check;
  }
  if (batch.prev_batch_hash().size() != protocol::kSha256Size) {
    check.refusal = MakeRefusal(v1::MALFORMED, "prev_batch_hash is not 32 bytes");
    return check;
  }

  DeviceRecord& device = check.device;
  if ((check.refusal = CheckDevice(batch.device_id(), context, device))) return check;
  if ((check.refusal = CheckSignature(device, protocol::kBatchLabel, context.server_id,
                                      signed_batch.batch_bytes(), signed_batch.signature()))) {
    return check;
  }
  // Step 4b: the device's budget of decompressed bytes, charged with its request.
  const uint64_t decoded_bytes =
      std::max<uint64_t>(batch.uncompressed_size(), batch.payload().size());
  if (context.byte_budget != nullptr) {
    if (auto overrun =
            context.byte_budget->Check(batch.device_id(), decoded_bytes, context.now_ms)) {
      check.refusal = MakeRefusal(v1::RATE_LIMITED, overrun->reason + "; retry later");
      check.refusal->retry_after_s = (overrun->retry_after_ms + 999) / 1000;
      return check;
    }
    context.byte_budget->Charge(batch.device_id(), decoded_bytes, context.now_ms);
  }
  ChargeRate(context, batch.device_id());

  VerifiedBatch& out = check.batch;
  out.device_id = batch.device_id();
  out.seq = batch.batch_seq();
  out.prev_hash = batch.prev_batch_hash();
  out.batch_hash = protocol::Sha256(signed_batch.batch_bytes());
  out.device_time_ms = batch.device_time_ms();
  out.payload_bytes = decoded_bytes;
  Result<v1::RecordList> records = protocol::DecodePayload(batch);
  if (records.ok()) {
    out.records = std::move(records).value();
  } else {
    out.payload_status = records.status();
  }
  out.batch_bytes = std::move(*signed_batch.mutable_batch_bytes());
  out.signature = std::move(*signed_batch.mutable_signature());
  return check;
}

std::optional<Refusal> RefusalForOutcome(const AppendOutcome& outcome) {
  using protocol::SequenceVerdict;
  switch (outcome.verdict) {
    case SequenceVerdict::kAccept:
      if (outcome.payload_status.code() == StatusCode::kResourceExhausted) {
        return MakeRefusal(v1::TOO_LARGE, outcome.payload_status.message());
      }
      if (!outcome.payload_status.ok()) {
        return MakeRefusal(v1::MALFORMED, "batch payload: " + outcome.payload_status.message());
      }
      return std::nullopt;
    case SequenceVerdict::kReplay:
      return std::nullopt;
    case SequenceVerdict::kEquivocation:
      return MakeRefusal(v1::EQUIVOCATION,
                         "another batch with this seq was accepted before; both are kept");
    case SequenceVerdict::kGap:
      return MakeRefusal(v1::SEQUENCE_GAP,
                         "sequence gap: expected batch_seq " + std::to_string(outcome.expected_seq),
                         outcome.expected_seq);
    case SequenceVerdict::kChainMismatch:
      return MakeRefusal(v1::CHAIN_MISMATCH,
                         "prev_batch_hash is not the hash of the last accepted batch",
                         outcome.expected_seq);
  }
  return MakeRefusal(v1::INTERNAL, "unknown sequence verdict");
}

PullCheck CheckPull(std::string_view body, const CheckContext& context) {
  PullCheck check;
  if ((check.refusal = CheckSize(body, context))) return check;
  v1::SignedPull signed_pull;
  v1::Pull& pull = check.params.pull;
  if (!signed_pull.ParseFromArray(body.data(), static_cast<int>(body.size())) ||
      !pull.ParseFromString(signed_pull.pull_bytes())) {
    check.refusal = MakeRefusal(v1::MALFORMED, "body is not a SignedPull holding a Pull");
    return check;
  }
  if (pull.nonce().size() < 16 || pull.nonce().size() > 64) {
    check.refusal = MakeRefusal(v1::MALFORMED, "pull nonce must be 16 to 64 bytes");
    return check;
  }
  DeviceRecord device;
  check.refusal = CheckDevice(pull.device_id(), context, device);
  check.params.device_id = device.device_id;  // "" unless the device is known.
  if (check.refusal) return check;
  if ((check.refusal = CheckSignature(device, protocol::kPullLabel, context.server_id,
                                      signed_pull.pull_bytes(), signed_pull.signature()))) {
    return check;
  }
  ChargeRate(context, pull.device_id());
  return check;
}

EnrollCheck CheckEnroll(std::string_view body, const CheckContext& context) {
  EnrollCheck check;
  if ((check.refusal = CheckSize(body, context))) return check;
  v1::EnrollRequest request;
  if (!request.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    check.refusal = MakeRefusal(v1::MALFORMED, "body is not an EnrollRequest");
    return check;
  }
  if (request.code().empty() || request.code().size() > kMaxEnrollCodeLength) {
    check.refusal = MakeRefusal(v1::MALFORMED, "enrollment code missing or too long");
    return check;
  }
  if (request.device_info().ByteSizeLong() > 1024) {
    check.refusal = MakeRefusal(v1::MALFORMED, "device_info larger than 1 KiB");
    return check;
  }
  Result<protocol::Ed25519PublicKey> key =
      protocol::Ed25519PublicKey::FromRaw(request.public_key());
  if (!key.ok()) {
    check.refusal = MakeRefusal(v1::MALFORMED, "public_key is not an Ed25519 key");
    return check;
  }
  // A proof of the wrong length is a malformed request; one of the right length that does not
  // verify is a bad signature (docs/protocol.md §5).
  if (request.proof().size() != protocol::kEd25519SignatureSize) {
    check.refusal =
        MakeRefusal(v1::MALFORMED, "enrollment proof is " + std::to_string(request.proof().size()) +
                                       " bytes, not 64");
    return check;
  }
  if (!key->Verify(
          protocol::SignatureInput(protocol::kEnrollLabel, request.code(), request.public_key()),
          request.proof())) {
    check.refusal = MakeRefusal(v1::BAD_SIGNATURE, "enrollment proof does not verify");
    return check;
  }
  check.params.code = request.code();
  check.params.public_key = request.public_key();
  check.params.device_info = request.device_info();
  check.params.server_id = context.server_id;
  return check;
}

}  // namespace vigil::syncd
