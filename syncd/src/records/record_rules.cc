#include "records/record_rules.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "vigil/protocol/batch_codec.h"
#include "vigil/protocol/crypto.h"

namespace vigil::syncd {
std::string DeterministicBytes(const google::protobuf::MessageLite& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

std::string StatusRecordId(const v1::Record& record) {
  std::string_view id = protocol::RecordId(record);
  if (id.size() <= kMaxRecordIdLength) return std::string(id);
  // The id parsed, so it is valid UTF-8: step back over continuation bytes (10xxxxxx) to the
  // first byte of the character that would be cut.
  size_t end = kMaxRecordIdLength;
  while (end > 0 && (static_cast<unsigned char>(id[end]) & 0xC0) == 0x80) --end;
  return std::string(id.substr(0, end));
}

Result<RecordFacts> DescribeRecord(const v1::Record& record) {
  RecordFacts facts;
  switch (record.kind_case()) {
    case v1::Record::kSubmission: {
      const v1::Submission& s = record.submission();
      facts.record_id = s.submission_id();
      facts.kind = "submission";
      facts.station_code = s.station_code();
      facts.form_id = s.form_id();
      facts.form_version = s.form_version();
      facts.observer_id = s.observer_id();
      break;
    }
    case v1::Record::kIncident: {
      const v1::IncidentReport& r = record.incident();
      facts.record_id = r.incident_id();
      facts.kind = "incident";
      facts.station_code = r.station_code();
      facts.form_id = r.form_id();
      facts.form_version = r.form_version();
      facts.observer_id = r.observer_id();
      break;
    }
    default:
      return Status::InvalidArgument("record is neither a submission nor an incident");
  }
  if (facts.record_id.empty()) return Status::InvalidArgument("record has no id");
  if (facts.record_id.size() > kMaxRecordIdLength) {
    return Status::InvalidArgument("record id longer than " + std::to_string(kMaxRecordIdLength));
  }
  facts.bytes = DeterministicBytes(record);
  facts.content_hash = protocol::Sha256(facts.bytes);
  return facts;
}

v1::RecordStatus DecideRecord(const RecordFacts& facts,
                              const std::optional<std::string>& stored_hash, bool form_known) {
  v1::RecordStatus status;
  status.set_record_id(facts.record_id);
  if (stored_hash.has_value()) {
    if (protocol::ConstantTimeEquals(*stored_hash, facts.content_hash)) {
      status.set_outcome(v1::RECORD_DUPLICATE);
    } else {
      status.set_outcome(v1::RECORD_REJECTED);
      status.set_reason("record id already used with other content");
    }
    return status;
  }
  if (!form_known) {
    status.set_outcome(v1::RECORD_REJECTED);
    status.set_reason("unknown form version " + facts.form_id + " v" +
                      std::to_string(facts.form_version));
    return status;
  }
  status.set_outcome(v1::RECORD_OK);
  return status;
}

}  // namespace vigil::syncd
