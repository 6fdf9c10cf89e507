// Helpers shared by syncd's tests: a store with one station, one observer and one published
// form, and a simulated device that builds signed batches. Temporary directories come from
// tests/support.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "admin/data_dir.h"
#include "http/router.h"
#include "metrics/metrics.h"
#include "pg_cluster.h"
#include "store/pg_connection.h"
#include "store/sql_store.h"
#include "store/sqlite_connection.h"
#include "support/temp_dir.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/signing.h"

namespace vigil::syncd::testing {

using test_support::TempDir;

inline constexpr const char* kServerId = "test-deployment";
inline constexpr const char* kStation = "12-03-07-0452";

// A checklist submission of form `form_id` version `version` with one answer.
inline v1::Record MakeSubmission(const std::string& id, int64_t answer = 1,
                                 const std::string& form_id = "opening", uint32_t version = 1) {
  v1::Record record;
  v1::Submission* s = record.mutable_submission();
  s->set_submission_id(id);
  s->set_form_id(form_id);
  s->set_form_version(version);
  s->set_station_code(kStation);
  s->set_observer_id("obs1");
  v1::Answer* a = s->add_answers();
  a->set_question_id("q01_voters");
  a->mutable_value()->set_integer(answer);
  return record;
}

// A device: its key, and the chain of batches it has made.
struct TestDevice {
  std::string device_id;
  std::unique_ptr<protocol::Ed25519PrivateKey> key;
  uint64_t next_seq = 1;
  std::string last_hash = protocol::GenesisHash();
  std::string server_id = kServerId;  // The deployment batches and pulls are signed for.

  // Serialized Batch bytes for `records` at `seq` chained on `prev_hash`.
  std::string BatchBytes(const std::vector<v1::Record>& records, uint64_t seq,
                         const std::string& prev_hash) const {
    v1::RecordList list;
    for (const v1::Record& r : records) *list.add_records() = r;
    v1::Batch batch;
    batch.set_device_id(device_id);
    batch.set_batch_seq(seq);
    batch.set_prev_batch_hash(prev_hash);
    batch.set_device_time_ms(1700000000000);
    REQUIRE(protocol::EncodePayload(list, batch).ok());
    return batch.SerializeAsString();
  }

  // A SignedBatch body for `batch_bytes`, signed for this device's deployment.
  std::string Sign(const std::string& batch_bytes) const { return SignFor(batch_bytes, server_id); }

  // A SignedBatch body for `batch_bytes` signed for deployment `for_server`.
  std::string SignFor(const std::string& batch_bytes, const std::string& for_server) const {
    v1::SignedBatch signed_batch;
    signed_batch.set_batch_bytes(batch_bytes);
    Result<std::string> signature =
        key->Sign(protocol::SignatureInput(protocol::kBatchLabel, for_server, batch_bytes));
    REQUIRE(signature.ok());
    signed_batch.set_signature(*signature);
    return signed_batch.SerializeAsString();
  }

  // The next batch in the chain (advances next_seq and last_hash).
  std::string NextBody(const std::vector<v1::Record>& records) {
    std::string bytes = BatchBytes(records, next_seq, last_hash);
    ++next_seq;
    last_hash = protocol::Sha256(bytes);
    return Sign(bytes);
  }

  // A signed EnrollRequest for `code`.
  static std::string EnrollBody(const protocol::Ed25519PrivateKey& key, const std::string& code) {
    v1::EnrollRequest request;
    request.set_code(code);
    request.set_public_key(key.public_key().raw());
    request.mutable_device_info()->set_model("test");
    Result<std::string> proof =
        key.Sign(protocol::SignatureInput(protocol::kEnrollLabel, code, key.public_key().raw()));
    REQUIRE(proof.ok());
    request.set_proof(*proof);
    return request.SerializeAsString();
  }

  // A signed pull body.
  // Signed for `for_server`, or this device's deployment when empty.
  std::string PullBody(uint64_t cursor, const std::string& nonce,
                       const std::string& for_server = "") const {
    v1::Pull pull;
    pull.set_device_id(device_id);
    pull.set_cursor(cursor);
    pull.set_nonce(nonce);
    pull.set_device_time_ms(1700000000000);
    pull.set_pending_records(3);
    v1::SignedPull signed_pull;
    signed_pull.set_pull_bytes(pull.SerializeAsString());
    Result<std::string> signature = key->Sign(
        protocol::SignatureInput(protocol::kPullLabel, for_server.empty() ? server_id : for_server,
                                 signed_pull.pull_bytes()));
    REQUIRE(signature.ok());
    signed_pull.set_signature(*signature);
    return signed_pull.SerializeAsString();
  }
};

inline v1::FormDefinition OpeningForm() {
  v1::FormDefinition form;
  form.set_form_id("opening");
  form.set_version(1);
  form.set_kind(v1::CHECKLIST);
  (*form.mutable_title())["en"] = "Opening";
  v1::Question* q = form.add_questions();
  q->set_id("q01_voters");
  q->set_type(v1::INTEGER);
  (*q->mutable_label())["en"] = "Voters";
  v1::Question* remarks = form.add_questions();  // Room for large test records.
  remarks->set_id("q99_remarks");
  remarks->set_type(v1::TEXT);
  remarks->set_max(1 << 20);
  (*remarks->mutable_label())["en"] = "Remarks";
  return form;
}

// A store, router and receipt key over a temporary directory, seeded with one station,
// observer "obs1" and form opening v1.
class TestServer {
 public:
  explicit TestServer(RouterOptions options = {}, SqlStoreOptions store_options = {})
      : store_options_(store_options) {
    store_ = Open();
    REQUIRE(store_->InitSetting("server_id", kServerId).ok());
    v1::Station station;
    station.set_code(kStation);
    station.set_name("School");
    station.set_registered_voters(700);
    REQUIRE(store_->ImportStations({station}).ok());
    REQUIRE(store_->AddObserver("obs1", "Sok", "", {kStation}).ok());
    REQUIRE(store_->PublishForm(OpeningForm()).ok());
    Result<protocol::Ed25519PrivateKey> key = protocol::Ed25519PrivateKey::Generate();
    REQUIRE(key.ok());
    key_ = std::make_shared<const protocol::Ed25519PrivateKey>(std::move(key).value());
    options.server_id = kServerId;
    router_ = std::make_unique<Router>(*store_, metrics_, key_, options);
  }

  std::unique_ptr<SqlStore> Open() {
    // VIGIL_TEST_STORE=postgres: a fresh database of the process's cluster, kept for reopening.
    const char* backend = std::getenv("VIGIL_TEST_STORE");
    if (backend != nullptr && std::string(backend) == "postgres" && pg_url_.empty()) {
      pg_url_ = SharedPgCluster().FreshDatabase();
    }
    Result<std::unique_ptr<SqlStore>> store =
        pg_url_.empty() ? SqlStore::Open(db_path(), true, store_options_)
                        : SqlStore::OpenPostgres(pg_url_, true, store_options_);
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    return std::move(store).value();
  }

  std::string db_path() const { return dir_.path() + "/syncd.db"; }
  // The store's PostgreSQL URL; empty when it is SQLite.
  const std::string& pg_url() const { return pg_url_; }
  // A connection of its own to the store's database, on whichever backend it runs.
  std::unique_ptr<sql::Connection> ConnectDirectly() const {
    if (!pg_url_.empty()) {
      Result<std::unique_ptr<PgConnection>> pg = PgConnection::Connect(pg_url_);
      REQUIRE_MESSAGE(pg.ok(), pg.status().ToString());
      return std::move(pg).value();
    }
    Result<std::unique_ptr<SqliteConnection>> lite = SqliteConnection::Open(db_path(), false, 1000);
    REQUIRE_MESSAGE(lite.ok(), lite.status().ToString());
    return std::move(lite).value();
  }
  SqlStore& store() { return *store_; }
  Router& router() { return *router_; }
  const protocol::Ed25519PrivateKey& receipt_key() const { return *key_; }

  HttpResponse Post(const std::string& target, std::string body) {
    return router_->Handle(HttpRequest{"POST", target, std::move(body)});
  }

  // Issues a code for obs1 valid for `validity_ms` (negative: already expired).
  std::string IssueCode(int64_t validity_ms = 3'600'000) {
    Result<std::string> random = protocol::RandomBytes(16);
    REQUIRE(random.ok());
    std::string code = protocol::Base64UrlEncode(*random);
    REQUIRE(store_->AddEnrollmentCode(protocol::Sha256(code), "obs1", NowMs() + validity_ms).ok());
    return code;
  }

  // Enrolls a device of `observer` through POST /v1/enroll. Its key comes from `seed_char`
  // (the same device id in every run), or is random when `seed_char` is '\0'.
  TestDevice EnrollAs(const std::string& observer, char seed_char = '\0') {
    TestDevice device;
    device.key = std::make_unique<protocol::Ed25519PrivateKey>(
        seed_char != '\0'
            ? protocol::Ed25519PrivateKey::FromSeed(std::string(32, seed_char)).value()
            : protocol::Ed25519PrivateKey::Generate().value());
    const std::string code =
        protocol::Base64UrlEncode(protocol::RandomBytes(16).value()) + "-" + observer;
    REQUIRE(store_->AddEnrollmentCode(protocol::Sha256(code), observer, NowMs() + 3'600'000).ok());
    REQUIRE(Post("/v1/enroll", TestDevice::EnrollBody(*device.key, code)).status == 200);
    device.device_id = protocol::DeviceIdFromPublicKey(device.key->public_key().raw());
    return device;
  }

  // Enrolls a new device through POST /v1/enroll.
  TestDevice Enroll() {
    TestDevice device;
    Result<protocol::Ed25519PrivateKey> key = protocol::Ed25519PrivateKey::Generate();
    REQUIRE(key.ok());
    device.key = std::make_unique<protocol::Ed25519PrivateKey>(std::move(key).value());
    HttpResponse response = Post("/v1/enroll", TestDevice::EnrollBody(*device.key, IssueCode()));
    REQUIRE(response.status == 200);
    v1::EnrollResponse enrolled;
    REQUIRE(enrolled.ParseFromString(response.body));
    device.device_id = enrolled.device_id();
    return device;
  }

 private:
  SqlStoreOptions store_options_;
  TempDir dir_;
  std::string pg_url_;  // The PostgreSQL database (VIGIL_TEST_STORE=postgres).
  Metrics metrics_;
  std::unique_ptr<SqlStore> store_;
  std::shared_ptr<const protocol::Ed25519PrivateKey> key_;
  std::unique_ptr<Router> router_;
};

// The vigil.v1.Error of a refusal.
inline v1::Error ErrorOf(const HttpResponse& response) {
  v1::Error error;
  CHECK(error.ParseFromString(response.body));
  return error;
}

}  // namespace vigil::syncd::testing
