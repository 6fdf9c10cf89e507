// Encoding and decoding of a Batch's payload (RecordList, maybe zstd-compressed), and the
// sequence rules both ends apply to a device's chain of batches.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"
#include "vigil/v1/records.pb.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::protocol {

// Limits a receiver enforces before doing any work.
inline constexpr size_t kMaxRecordsPerBatch = 1000;
inline constexpr uint64_t kMaxUncompressedPayload = 8u << 20;  // 8 MiB

// The 32 zero bytes that stand for "no previous batch" in batch 1.
std::string GenesisHash();

// Fills batch.payload / compression / record_count / uncompressed_size from `records`:
// zstd when it is smaller, otherwise plain.
Status EncodePayload(const v1::RecordList& records, v1::Batch& batch);

// The same from records already serialized (each a vigil.v1.Record): the RecordList is
// built by framing the bytes as they are (field 1, length-delimited), so the records travel
// exactly as the device stored them, with no parse and re-serialize.
Status EncodePayloadFromSerialized(const std::vector<std::string>& records, v1::Batch& batch);

// Decodes batch.payload into records, refusing more than `max_uncompressed` bytes or a
// record_count that does not match.
Result<v1::RecordList> DecodePayload(const v1::Batch& batch,
                                     uint64_t max_uncompressed = kMaxUncompressedPayload);

// The id of a record (submission_id or incident_id), "" when neither is set.
std::string_view RecordId(const v1::Record& record);

// What the sequence rules (docs/architecture.md §4 step 5) say of an incoming batch.
enum class SequenceVerdict {
  kAccept,         // seq == last+1 and prev hash matches: store it.
  kReplay,         // seq <= last and the very bytes stored: answer the stored receipt.
  kEquivocation,   // seq <= last with other bytes: refuse, keep both, alert.
  kGap,            // seq > last+1: refuse; the client resends from last+1.
  kChainMismatch,  // seq == last+1 but prev_batch_hash is not the last hash: refuse.
};

// Applies the rules. `stored_hash_at_seq` is the hash the receiver holds for `seq` when
// seq <= last (ignored otherwise).
SequenceVerdict CheckSequence(uint64_t last_seq, std::string_view last_hash, uint64_t seq,
                              std::string_view prev_hash, std::string_view batch_hash,
                              std::string_view stored_hash_at_seq);

}  // namespace vigil::protocol
