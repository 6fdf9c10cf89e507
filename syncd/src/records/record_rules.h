// Per-record rules inside an accepted batch (docs/architecture.md §4 step 5): records are
// idempotent by their UUID. Pure functions; the writer calls them inside its transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/status.h"
#include "vigil/v1/records.pb.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::syncd {

// The facts about a record that the store indexes.
struct RecordFacts {
  std::string record_id;
  std::string kind;          // "submission" | "incident"
  std::string content_hash;  // SHA-256 of the deterministic serialization.
  std::string bytes;         // That serialization.
  std::string station_code;
  std::string form_id;
  uint32_t form_version = 0;
  std::string observer_id;
};

// The deterministic serialization of `message` (map entries sorted by key), so that equal
// messages give equal bytes within this build. Used for content hashes and comparisons.
std::string DeterministicBytes(const google::protobuf::MessageLite& message);

// Longest accepted record id (a UUID is 36 characters).
inline constexpr size_t kMaxRecordIdLength = 64;

// The id that names `record` in its RecordStatus when the record is refused: its id cut to
// at most kMaxRecordIdLength bytes, and never inside a UTF-8 character, so that the
// PushResponse stays a message every proto3 parser reads (one cut character would make the
// device's parse of the whole answer fail, and the stored answer is replayed as it is).
std::string StatusRecordId(const v1::Record& record);

// The facts of `record`; InvalidArgument when it has no kind or no usable id.
Result<RecordFacts> DescribeRecord(const v1::Record& record);

// The outcome of one record: `stored_hash` is the content hash already stored under the
// record's id (nullopt when none), `form_known` whether the server has its form version.
//   same id + same content   -> RECORD_DUPLICATE
//   same id + other content  -> RECORD_REJECTED "record id already used with other content"
//   unknown (form, version)  -> RECORD_REJECTED "unknown form version"
//   otherwise                -> RECORD_OK
v1::RecordStatus DecideRecord(const RecordFacts& facts,
                              const std::optional<std::string>& stored_hash, bool form_known);

}  // namespace vigil::syncd
