#include "vigil/protocol/batch_codec.h"

#include <zstd.h>

#include "vigil/protocol/crypto.h"

namespace vigil::protocol {

std::string GenesisHash() { return std::string(kSha256Size, '\0'); }

namespace {

// Compresses `plain` (a serialized RecordList of `count` records) into the batch.
Status Pack(std::string plain, uint32_t count, v1::Batch& batch) {
  if (plain.size() > kMaxUncompressedPayload) {
    return Status::InvalidArgument("the records of one batch exceed 8 MiB");
  }
  std::string packed(ZSTD_compressBound(plain.size()), '\0');
  size_t n = ZSTD_compress(packed.data(), packed.size(), plain.data(), plain.size(), 3);
  batch.set_record_count(count);
  batch.set_uncompressed_size(plain.size());
  if (!ZSTD_isError(n) && n < plain.size()) {
    packed.resize(n);
    batch.set_compression(v1::COMPRESSION_ZSTD);
    batch.set_payload(std::move(packed));
  } else {
    batch.set_compression(v1::COMPRESSION_NONE);
    batch.set_payload(std::move(plain));
  }
  return Status::Ok();
}

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// The shape docs/protocol.md §6.2 allows a compressed payload, checked before any byte is
// inflated: exactly one standard zstd frame (no skippable frame, no legacy format, nothing
// after it), needing no dictionary, whose header declares `size` as its content size. A
// content checksum is optional; ZSTD_decompress verifies it when the frame carries one.
Status CheckZstdFrame(const std::string& payload, uint64_t size) {
  const auto* p = reinterpret_cast<const unsigned char*>(payload.data());
  const uint32_t magic = payload.size() < 4 ? 0
                                            : static_cast<uint32_t>(p[0]) | (uint32_t{p[1]} << 8) |
                                                  (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
  if (magic != ZSTD_MAGICNUMBER) {
    return Status::InvalidArgument("zstd payload does not start with a zstd frame");
  }
  const size_t frame_size = ZSTD_findFrameCompressedSize(payload.data(), payload.size());
  if (ZSTD_isError(frame_size) || frame_size != payload.size()) {
    return Status::InvalidArgument("zstd payload is not exactly one zstd frame");
  }
  if (ZSTD_getDictID_fromFrame(payload.data(), payload.size()) != 0) {
    return Status::InvalidArgument("zstd payload needs a dictionary");
  }
  const unsigned long long declared = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN ||
      declared != size) {
    return Status::InvalidArgument("zstd payload does not declare the stated size");
  }
  return Status::Ok();
}

}  // namespace

Status EncodePayload(const v1::RecordList& records, v1::Batch& batch) {
  if (static_cast<size_t>(records.records_size()) > kMaxRecordsPerBatch) {
    return Status::InvalidArgument("a batch holds at most " + std::to_string(kMaxRecordsPerBatch) +
                                   " records");
  }
  std::string plain;
  if (!records.SerializeToString(&plain)) return Status::Internal("could not serialize records");
  return Pack(std::move(plain), static_cast<uint32_t>(records.records_size()), batch);
}

Status EncodePayloadFromSerialized(const std::vector<std::string>& records, v1::Batch& batch) {
  if (records.size() > kMaxRecordsPerBatch) {
    return Status::InvalidArgument("a batch holds at most " + std::to_string(kMaxRecordsPerBatch) +
                                   " records");
  }
  size_t total = 0;
  for (const std::string& r : records) total += r.size() + 11;
  std::string plain;
  plain.reserve(total);
  for (const std::string& r : records) {
    plain.push_back(0x0a);  // RecordList.records: field 1, wire type 2
    AppendVarint(plain, r.size());
    plain += r;
  }
  return Pack(std::move(plain), static_cast<uint32_t>(records.size()), batch);
}

Result<v1::RecordList> DecodePayload(const v1::Batch& batch, uint64_t max_uncompressed) {
  if (batch.uncompressed_size() > max_uncompressed) {
    return Status::ResourceExhausted(
        "batch payload would be " + std::to_string(batch.uncompressed_size()) +
        " bytes uncompressed; the limit is " + std::to_string(max_uncompressed));
  }
  if (batch.record_count() > kMaxRecordsPerBatch) {
    return Status::InvalidArgument("batch claims " + std::to_string(batch.record_count()) +
                                   " records; the limit is " + std::to_string(kMaxRecordsPerBatch));
  }
  std::string plain;
  const std::string* bytes = &batch.payload();
  switch (batch.compression()) {
    case v1::COMPRESSION_NONE:
      if (batch.payload().size() != batch.uncompressed_size()) {
        return Status::InvalidArgument("uncompressed payload size does not match");
      }
      break;
    case v1::COMPRESSION_ZSTD: {
      VIGIL_RETURN_IF_ERROR(CheckZstdFrame(batch.payload(), batch.uncompressed_size()));
      plain.resize(batch.uncompressed_size());
      size_t n = ZSTD_decompress(plain.data(), plain.size(), batch.payload().data(),
                                 batch.payload().size());
      if (ZSTD_isError(n) || n != plain.size()) {
        return Status::InvalidArgument("zstd payload does not decompress");
      }
      bytes = &plain;
      break;
    }
    default:
      return Status::InvalidArgument("unknown payload compression " +
                                     std::to_string(batch.compression()));
  }
  v1::RecordList records;
  if (!records.ParseFromString(*bytes)) {
    return Status::InvalidArgument("batch payload is not a RecordList");
  }
  if (static_cast<uint32_t>(records.records_size()) != batch.record_count()) {
    return Status::InvalidArgument("batch says " + std::to_string(batch.record_count()) +
                                   " records but holds " + std::to_string(records.records_size()));
  }
  return records;
}

std::string_view RecordId(const v1::Record& record) {
  switch (record.kind_case()) {
    case v1::Record::kSubmission:
      return record.submission().submission_id();
    case v1::Record::kIncident:
      return record.incident().incident_id();
    default:
      return {};
  }
}

SequenceVerdict CheckSequence(uint64_t last_seq, std::string_view last_hash, uint64_t seq,
                              std::string_view prev_hash, std::string_view batch_hash,
                              std::string_view stored_hash_at_seq) {
  if (seq != 0 && seq <= last_seq) {
    return ConstantTimeEquals(batch_hash, stored_hash_at_seq) ? SequenceVerdict::kReplay
                                                              : SequenceVerdict::kEquivocation;
  }
  if (seq != last_seq + 1) return SequenceVerdict::kGap;
  std::string expected_prev = last_seq == 0 ? GenesisHash() : std::string(last_hash);
  if (!ConstantTimeEquals(prev_hash, expected_prev)) return SequenceVerdict::kChainMismatch;
  return SequenceVerdict::kAccept;
}

}  // namespace vigil::protocol
