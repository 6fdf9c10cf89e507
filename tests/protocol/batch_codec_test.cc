#include "vigil/protocol/batch_codec.h"

#include <doctest/doctest.h>
#include <zstd.h>

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

// What a zstd payload may look like (docs/protocol.md §6.2): exactly one standard frame that
// declares its content size. Frames are built here byte by byte where no encoder writes them.
namespace vigil::protocol {
namespace {

// `plain` compressed by zstd's advanced API: with a content checksum or not, with the content
// size in the header or not.
std::string Compress(const std::string& plain, bool checksum, bool declare_size) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  REQUIRE(cctx != nullptr);
  REQUIRE_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0)));
  REQUIRE_FALSE(
      ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, declare_size ? 1 : 0)));
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  size_t n = ZSTD_compress2(cctx, out.data(), out.size(), plain.data(), plain.size());
  ZSTD_freeCCtx(cctx);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// A skippable frame (magic 0x184D2A50, little-endian length, then `content`).
std::string SkippableFrame(const std::string& content) {
  std::string frame = "\x50\x2a\x4d\x18";
  for (int shift = 0; shift < 32; shift += 8) {
    frame.push_back(static_cast<char>((content.size() >> shift) & 0xff));
  }
  return frame + content;
}

// Where the Frame_Content_Size field of `frame` starts and how long it is (RFC 8878 §3.1.1.1).
std::pair<size_t, size_t> ContentSizeField(const std::string& frame) {
  const auto descriptor = static_cast<unsigned char>(frame.at(4));
  const bool single_segment = (descriptor >> 5) & 1;
  const size_t dict_id_sizes[] = {0, 1, 2, 4};
  const size_t content_size_sizes[] = {single_segment ? 1u : 0u, 2, 4, 8};
  size_t offset = 5 + (single_segment ? 0 : 1) + dict_id_sizes[descriptor & 3];
  return {offset, content_size_sizes[descriptor >> 6]};
}

// `frame` with its header declaring `size` as content size (the field keeps its width).
std::string DeclaringSize(std::string frame, uint64_t size) {
  auto [offset, width] = ContentSizeField(frame);
  REQUIRE(width >= 2);
  uint64_t stored = width == 2 ? size - 256 : size;
  for (size_t i = 0; i < width; ++i)
    frame[offset + i] = static_cast<char>((stored >> (8 * i)) & 0xff);
  return frame;
}

// `frame` with a one-byte dictionary id `id` added to its header.
std::string NeedingDictionary(std::string frame, unsigned char id) {
  auto descriptor = static_cast<unsigned char>(frame.at(4));
  REQUIRE((descriptor & 3) == 0);
  frame[4] = static_cast<char>(descriptor | 1);
  const bool single_segment = (descriptor >> 5) & 1;
  frame.insert(5 + (single_segment ? 0 : 1), 1, static_cast<char>(id));
  return frame;
}

// A batch whose zstd payload is `payload`, stating the size and count of `records`.
v1::Batch ZstdBatch(const v1::RecordList& records, std::string payload) {
  v1::Batch batch;
  batch.set_compression(v1::COMPRESSION_ZSTD);
  batch.set_record_count(static_cast<uint32_t>(records.records_size()));
  batch.set_uncompressed_size(records.ByteSizeLong());
  batch.set_payload(std::move(payload));
  return batch;
}

std::string ReasonOf(const v1::Batch& batch) {
  Result<v1::RecordList> decoded = DecodePayload(batch);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.status().code() == StatusCode::kInvalidArgument);
  return decoded.status().message();
}

TEST_CASE("zstd payload: a frame with a content checksum is accepted and the checksum checked") {
  v1::RecordList records = SampleRecords(20);
  std::string frame = Compress(records.SerializeAsString(), /*checksum=*/true, true);
  Result<v1::RecordList> decoded = DecodePayload(ZstdBatch(records, frame));
  REQUIRE(decoded.ok());
  CHECK(decoded->SerializeAsString() == records.SerializeAsString());

  std::string corrupt = frame;
  corrupt.back() = static_cast<char>(corrupt.back() ^ 0x01);  // The last byte of the checksum.
  CHECK(ReasonOf(ZstdBatch(records, corrupt)) == "zstd payload does not decompress");
}

TEST_CASE("zstd payload: a frame without its content size is refused") {
  v1::RecordList records = SampleRecords(20);
  std::string frame = Compress(records.SerializeAsString(), false, /*declare_size=*/false);
  CHECK(ReasonOf(ZstdBatch(records, frame)) == "zstd payload does not declare the stated size");
}

TEST_CASE("zstd payload: a header whose content size lies is refused either way") {
  v1::RecordList records = SampleRecords(20);
  const std::string plain = records.SerializeAsString();
  const std::string frame = Compress(plain, false, true);
  REQUIRE(ContentSizeField(frame).second == 2);
  for (uint64_t lie : {plain.size() - 1, plain.size() + 1, plain.size() + 60000}) {
    CAPTURE(lie);
    v1::Batch batch = ZstdBatch(records, DeclaringSize(frame, lie));
    CHECK(ReasonOf(batch) == "zstd payload does not declare the stated size");
    batch.set_uncompressed_size(lie);  // The batch agrees with the lying header.
    CHECK(ReasonOf(batch) == "zstd payload does not decompress");
  }
}

TEST_CASE("zstd payload: skippable frames, more frames and trailing bytes are refused") {
  v1::RecordList records = SampleRecords(20);
  const std::string frame = Compress(records.SerializeAsString(), false, true);
  REQUIRE(DecodePayload(ZstdBatch(records, frame)).ok());
  const std::string not_one = "zstd payload is not exactly one zstd frame";
  CHECK(ReasonOf(ZstdBatch(records, frame + SkippableFrame("note"))) == not_one);
  CHECK(ReasonOf(ZstdBatch(records, frame + Compress("", false, true))) == not_one);
  CHECK(ReasonOf(ZstdBatch(records, frame + frame)) == not_one);
  CHECK(ReasonOf(ZstdBatch(records, frame + std::string(1, '\0'))) == not_one);
  CHECK(ReasonOf(ZstdBatch(records, frame.substr(0, frame.size() - 1))) == not_one);
  const std::string not_first = "zstd payload does not start with a zstd frame";
  CHECK(ReasonOf(ZstdBatch(records, SkippableFrame("note") + frame)) == not_first);
  CHECK(ReasonOf(ZstdBatch(records, "\x27\xb5\x2f\xfd" + frame.substr(4))) == not_first);  // v0.7
  CHECK(ReasonOf(ZstdBatch(records, "")) == not_first);
}

TEST_CASE("zstd payload: a frame that needs a dictionary is refused") {
  v1::RecordList records = SampleRecords(20);
  const std::string frame = Compress(records.SerializeAsString(), false, true);
  CHECK(ReasonOf(ZstdBatch(records, NeedingDictionary(frame, 7))) ==
        "zstd payload needs a dictionary");
}

TEST_CASE("decoding refusals name their cause as docs/protocol.md §6.2 lists them") {
  v1::Batch batch;
  REQUIRE(EncodePayload(SampleRecords(20), batch).ok());
  v1::Batch big = batch;
  big.set_uncompressed_size(kMaxUncompressedPayload + 1);
  CHECK(DecodePayload(big).status().message() ==
        "batch payload would be 8388609 bytes uncompressed; the limit is 8388608");
  v1::Batch many = batch;
  many.set_record_count(1001);
  CHECK(ReasonOf(many) == "batch claims 1001 records; the limit is 1000");
  v1::Batch unknown = batch;
  unknown.set_compression(static_cast<v1::Compression>(7));
  CHECK(ReasonOf(unknown) == "unknown payload compression 7");
  v1::Batch count = batch;
  count.set_record_count(19);
  CHECK(ReasonOf(count) == "batch says 19 records but holds 20");
  v1::Batch garbage;
  garbage.set_payload("\xff\xff\xff");
  garbage.set_uncompressed_size(3);
  CHECK(ReasonOf(garbage) == "batch payload is not a RecordList");
}

TEST_CASE("plain payload: its size must be the stated size") {
  v1::RecordList records = SampleRecords(3);
  v1::Batch batch;
  batch.set_compression(v1::COMPRESSION_NONE);
  batch.set_record_count(3);
  batch.set_payload(records.SerializeAsString());
  batch.set_uncompressed_size(batch.payload().size() + 1);
  CHECK(ReasonOf(batch) == "uncompressed payload size does not match");
  batch.set_uncompressed_size(batch.payload().size());
  CHECK(DecodePayload(batch).ok());
}

}  // namespace
}  // namespace vigil::protocol
