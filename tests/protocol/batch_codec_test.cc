#include "vigil/protocol/batch_codec.h"

#include <doctest/doctest.h>

#include "vigil/protocol/crypto.h"

namespace vigil::protocol {
namespace {

v1::RecordList SampleRecords(int n) {
  v1::RecordList list;
  for (int i = 0; i < n; ++i) {
    auto* s = list.add_records()->mutable_submission();
    s->set_submission_id("00000000-0000-4000-8000-" + std::to_string(100000000000 + i));
    s->set_form_id("opening");
    s->set_form_version(1);
    s->set_station_code("12-03-07-0452");
    auto* a = s->add_answers();
    a->set_question_id("q03_committee_present");
    a->mutable_value()->set_integer(6);
  }
  return list;
}

TEST_CASE("a repetitive payload is zstd-compressed and decodes to the same records") {
  v1::Batch batch;
  v1::RecordList records = SampleRecords(50);
  REQUIRE(EncodePayload(records, batch).ok());
  CHECK(batch.compression() == v1::COMPRESSION_ZSTD);
  CHECK(batch.record_count() == 50);
  CHECK(batch.payload().size() < batch.uncompressed_size());
  auto back = DecodePayload(batch);
  REQUIRE(back.ok());
  CHECK(back->SerializeAsString() == records.SerializeAsString());
}

TEST_CASE("a tiny payload stays uncompressed") {
  v1::Batch batch;
  v1::RecordList records;
  records.add_records()->mutable_incident()->set_incident_id("x");
  REQUIRE(EncodePayload(records, batch).ok());
  CHECK(batch.compression() == v1::COMPRESSION_NONE);
  REQUIRE(DecodePayload(batch).ok());
}

TEST_CASE("decoding refuses a lying size or a wrong count or garbage") {
  v1::Batch batch;
  REQUIRE(EncodePayload(SampleRecords(20), batch).ok());

  v1::Batch bomb = batch;
  bomb.set_uncompressed_size(1ull << 40);
  CHECK(DecodePayload(bomb).status().code() == StatusCode::kResourceExhausted);

  v1::Batch wrong_count = batch;
  wrong_count.set_record_count(19);
  CHECK(DecodePayload(wrong_count).status().code() == StatusCode::kInvalidArgument);

  v1::Batch garbage = batch;
  garbage.set_payload("not zstd at all");
  CHECK(DecodePayload(garbage).status().code() == StatusCode::kInvalidArgument);

  v1::Batch unknown = batch;
  unknown.set_compression(static_cast<v1::Compression>(7));
  CHECK_FALSE(DecodePayload(unknown).ok());
}

TEST_CASE("sequence rules: accept / replay / equivocation / gap / chain mismatch") {
  const std::string h1 = Sha256("batch 1");
  const std::string h2 = Sha256("batch 2");
  const std::string other = Sha256("other bytes");
  CHECK(CheckSequence(0, "", 1, GenesisHash(), h1, "") == SequenceVerdict::kAccept);
  CHECK(CheckSequence(0, "", 1, h2, h1, "") == SequenceVerdict::kChainMismatch);
  CHECK(CheckSequence(1, h1, 2, h1, h2, "") == SequenceVerdict::kAccept);
  CHECK(CheckSequence(2, h2, 1, GenesisHash(), h1, h1) == SequenceVerdict::kReplay);
  CHECK(CheckSequence(2, h2, 2, h1, other, h2) == SequenceVerdict::kEquivocation);
  CHECK(CheckSequence(2, h2, 4, other, other, "") == SequenceVerdict::kGap);
  CHECK(CheckSequence(2, h2, 3, h1, other, "") == SequenceVerdict::kChainMismatch);
  CHECK(CheckSequence(0, "", 0, GenesisHash(), h1, "") == SequenceVerdict::kGap);
}

}  // namespace
}  // namespace vigil::protocol

namespace vigil::protocol {
namespace {

TEST_CASE("framing serialized records gives the very payload of serializing the list") {
  v1::RecordList records = SampleRecords(30);
  std::vector<std::string> serialized;
  for (const v1::Record& r : records.records()) serialized.push_back(r.SerializeAsString());
  v1::Batch from_list;
  v1::Batch from_bytes;
  REQUIRE(EncodePayload(records, from_list).ok());
  REQUIRE(EncodePayloadFromSerialized(serialized, from_bytes).ok());
  CHECK(from_bytes.uncompressed_size() == from_list.uncompressed_size());
  CHECK(from_bytes.record_count() == 30);
  auto decoded = DecodePayload(from_bytes);
  REQUIRE(decoded.ok());
  CHECK(decoded->SerializeAsString() == records.SerializeAsString());
  CHECK_FALSE(EncodePayloadFromSerialized(std::vector<std::string>(1001, "x"), from_bytes).ok());
}

}  // namespace
}  // namespace vigil::protocol
