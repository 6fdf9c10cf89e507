#include "fuzz_server.h"

#include <cstdlib>
#include <filesystem>

#include "fuzz_support.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/protocol/signing.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::fuzz {

void Require(bool ok) {
  if (!ok) std::abort();
}

namespace {

// /dev/shm when there is one (the store's writes stay in memory), else the temporary directory.
std::filesystem::path FastTempBase() {
  std::error_code ec;
  return std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "";
}

}  // namespace

FuzzServer::FuzzServer(const std::string& name) : dir_("vigil_fuzz_" + name + "_", FastTempBase()) {
  Result<std::unique_ptr<syncd::SqlStore>> opened = syncd::SqlStore::Open(dir_ / "syncd.db", true);
  Require(opened.ok());
  store_ = std::move(opened).value();
  Require(store_->InitSetting("server_id", std::string(kServerId)).ok());
  v1::Station station;
  station.set_code(kStationCode);
  station.set_name("School");
  station.set_province("Phnom Penh");
  station.set_district("Daun Penh");
  station.set_commune("Srah Chak");
  station.set_registered_voters(700);
  Require(store_->ImportStations({station}).ok());
  Require(store_->AddObserver("obs1", "Sok", "", {kStationCode}).ok());
  Require(store_->PublishForm(SampleForm()).ok());
  Result<protocol::Ed25519PrivateKey> key = protocol::Ed25519PrivateKey::Generate();
  Require(key.ok());
  syncd::RouterOptions options;
  options.server_id = std::string(kServerId);
  options.max_body_bytes = 1 << 20;
  options.rate_per_device_per_s = 0;
  options.rate_per_address_per_s = 0;
  router_ = std::make_unique<syncd::Router>(
      *store_, metrics_,
      std::make_shared<const protocol::Ed25519PrivateKey>(std::move(key).value()), options);
  const std::string code = "fuzz-enrollment-code";
  Require(
      store_->AddEnrollmentCode(protocol::Sha256(code), "obs1", syncd::NowMs() + 3'600'000).ok());
  v1::EnrollRequest request;
  request.set_code(code);
  request.set_public_key(DeviceKey().public_key().raw());
  Result<std::string> proof = DeviceKey().Sign(
      protocol::SignatureInput(protocol::kEnrollLabel, code, DeviceKey().public_key().raw()));
  Require(proof.ok());
  request.set_proof(*proof);
  Require(router_->Handle({"POST", "/v1/enroll", request.SerializeAsString()}).status == 200);
}

FuzzServer::~FuzzServer() {
  router_.reset();
  store_.reset();
}

v1::Record Submission(const std::string& id, int64_t voters) {
  v1::Record record;
  v1::Submission* s = record.mutable_submission();
  s->set_submission_id(id);
  s->set_form_id("fuzz");
  s->set_form_version(1);
  s->set_station_code(kStationCode);
  s->set_observer_id("obs1");
  v1::Answer* a = s->add_answers();
  a->set_question_id("q_yes");
  a->mutable_value()->set_boolean(true);
  a = s->add_answers();
  a->set_question_id("q_int");
  a->mutable_value()->set_integer(voters);
  return record;
}

v1::Record Incident(const std::string& id) {
  v1::Record record;
  v1::IncidentReport* r = record.mutable_incident();
  r->set_incident_id(id);
  r->set_form_id("fuzz");
  r->set_form_version(1);
  r->set_station_code(kStationCode);
  r->set_category("intimidation");
  r->set_severity("high");
  r->set_narrative("Men outside the station");
  r->add_photo_refs("sha256:" + std::string(64, 'a'));
  return record;
}

std::string BatchBytes(const std::vector<v1::Record>& records, uint64_t seq,
                       const std::string& prev_hash) {
  v1::RecordList list;
  for (const v1::Record& r : records) *list.add_records() = r;
  v1::Batch batch;
  batch.set_device_id(DeviceId());
  batch.set_batch_seq(seq);
  batch.set_prev_batch_hash(prev_hash);
  batch.set_device_time_ms(1700000000000);
  Require(protocol::EncodePayload(list, batch).ok());
  return batch.SerializeAsString();
}

std::string SignedBatchBody(const std::string& batch_bytes, std::string_view server_id) {
  Result<std::string> signature =
      DeviceKey().Sign(protocol::SignatureInput(protocol::kBatchLabel, server_id, batch_bytes));
  Require(signature.ok());
  v1::SignedBatch signed_batch;
  signed_batch.set_batch_bytes(batch_bytes);
  signed_batch.set_signature(*signature);
  return signed_batch.SerializeAsString();
}

}  // namespace vigil::fuzz
