// Encryption at rest (client-core/src/crypto/, client.cc): the PIN unlocks the store, a
// wrong PIN says so, a locked store refuses secrets, and nothing readable of an answer, a
// station, a narrative, the data key or the device's private key is in the store's files.
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include "client_state.h"
#include "client_test_support.h"
#include "crypto/aead.h"
#include "support/files.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::client::test {
namespace {

TEST_CASE("encryption: the right PIN unlocks and a wrong PIN is refused as wrong PIN") {
  TempDir dir;
  std::string home = dir / "home";
  std::string device_id = InitClient(home)->device_id();

  auto wrong = FastPin("135790");
  auto refused = Client::Open(home, wrong.get());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kPermissionDenied);
  CHECK(Contains(refused.status().message(), "wrong PIN"));

  auto right = OpenClient(home);
  CHECK(right->unlocked());
  CHECK(right->device_id() == device_id);
}

TEST_CASE("encryption: the default scrypt cost wraps and unwraps and refuses a wrong PIN") {
  ScryptParams defaults;
  CHECK(defaults.log2_n == 15);
  CHECK(defaults.r == 8);
  CHECK(defaults.p == 1);
  const std::string data_key(32, '\x5a');
  auto protector = MakePinKeyProtector("975310");
  auto blob = protector->Wrap(data_key);
  REQUIRE(blob.ok());
  // Layout (pin_key_protector.cc): "VPK1" | log2_n | r | p | salt | sealed key.
  REQUIRE(blob->size() > 5);
  CHECK(blob->substr(0, 4) == "VPK1");
  CHECK(static_cast<unsigned char>((*blob)[4]) == 15);
  CHECK_FALSE(Contains(*blob, data_key));
  auto back = protector->Unwrap(*blob);
  REQUIRE(back.ok());
  CHECK(*back == data_key);
  auto again = protector->Wrap(data_key);
  REQUIRE(again.ok());
  CHECK(*again != *blob);  // A fresh salt and nonce every time.
  auto wrong = MakePinKeyProtector("975311")->Unwrap(*blob);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().code() == StatusCode::kPermissionDenied);
  CHECK(Contains(wrong.status().message(), "wrong PIN"));
}

TEST_CASE("encryption: a locked store lists forms and counts but refuses every secret") {
  TempDir dir;
  std::string home = dir / "home";
  std::string record_id;
  {
    auto c = InitClient(home, InitOptions{.server_id = "test-deploy"});
    REQUIRE(c->ImportForm(SmallChecklist()).ok());
    REQUIRE(c->ImportForm(SmallIncidentForm()).ok());
    auto d = c->StartDraft("small", "01-01-01-0001");
    REQUIRE(d.ok());
    record_id = *d;
  }
  auto opened = Client::Open(home, nullptr);
  REQUIRE(opened.ok());
  Client& c = **opened;
  CHECK_FALSE(c.unlocked());
  CHECK(c.device_id().size() == 33);
  auto forms = c.ListForms();
  REQUIRE(forms.ok());
  CHECK(forms->size() == 2);
  auto status = c.GetStatus();
  REQUIRE(status.ok());
  CHECK(status->drafts == 1);

  auto draft = c.StartDraft("small", "01-01-01-0001");
  REQUIRE_FALSE(draft.ok());
  CHECK(draft.status().code() == StatusCode::kFailedPrecondition);
  CHECK(c.GetRecord(record_id).status().code() == StatusCode::kFailedPrecondition);
  CHECK(c.SetAnswer(record_id, "q1_sealed", Bool(true)).code() == StatusCode::kFailedPrecondition);
  CHECK(c.Finalize(record_id).status().code() == StatusCode::kFailedPrecondition);
  IncidentInput in;
  in.station_code = "01-01-01-0001";
  in.category = "other";
  in.severity = "low";
  in.narrative = "n";
  CHECK(c.ReportIncident(in).status().code() == StatusCode::kFailedPrecondition);
  CHECK(c.SealOutbox().status().code() == StatusCode::kFailedPrecondition);
  CHECK(c.PendingBatches().status().code() == StatusCode::kFailedPrecondition);
}

// The raw public key of an Ed25519 seed, computed by OpenSSL alone.
std::string PublicKeyOfSeed(const std::string& seed) {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  REQUIRE(pkey != nullptr);
  std::string pub(32, '\0');
  size_t len = pub.size();
  int ok = EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(pub.data()), &len);
  EVP_PKEY_free(pkey);
  REQUIRE(ok == 1);
  return pub;
}

// Every file of the store: the database, its write-ahead log and shared memory.
std::string StoreFilesBytes(const std::string& home, std::vector<std::string>* names = nullptr) {
  std::string all;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::path p = std::filesystem::path(home) / (std::string("vigil.db") + suffix);
    if (!std::filesystem::exists(p)) continue;
    if (names != nullptr) names->push_back(p.filename().string());
    all += ReadBytes(p);
    all += std::string(64, '\0');  // No match may straddle two files.
  }
  return all;
}

TEST_CASE("encryption: the store files hold no plaintext answer nor any key") {
  TempDir dir;
  std::string home = dir / "home";
  // Distinctive strings that can only come from what the observer entered.
  const std::string marker = "UNIQUE-MARKER-7f3a";
  const std::string khmer_marker =  // "ការបោះឆ្នោតសម្ងាត់" (secret ballot)
      "\xe1\x9e\x80\xe1\x9e\xb6\xe1\x9e\x9a\xe1\x9e\x94\xe1\x9f\x84\xe1\x9f\x87\xe1\x9e\x86\xe1\x9f"
      "\x92\xe1\x9e\x93\xe1\x9f\x84\xe1\x9e\x8f";
  const std::string station = "STATION-8841-QX";
  const std::string draft_marker = "DRAFT-ONLY-MARKER-2b9e";
  const std::string narrative = "NARRATIVE-MARKER-c41d armed men at the gate";
  const std::string incident_station = "INCIDENT-STATION-5521";

  auto c = InitClient(home, InitOptions{.server_id = "test-deploy"});
  REQUIRE(c->ImportForm(SmallChecklist()).ok());
  REQUIRE(c->ImportForm(SmallIncidentForm()).ok());
  for (int i = 0; i < 3; ++i) {
    auto d = c->StartDraft("small", station);
    REQUIRE(d.ok());
    REQUIRE(c->SetAnswer(*d, "q1_sealed", Bool(false)).ok());
    REQUIRE(c->SetAnswer(*d, "q2_why_not", Text(i == 0 ? marker : khmer_marker)).ok());
    REQUIRE(c->SetAnswer(*d, "q3_count", Int(31337)).code() == StatusCode::kInvalidArgument);
    REQUIRE(c->SetAnswer(*d, "q3_count", Int(17)).ok());
    REQUIRE(c->Finalize(*d).ok());
  }
  auto open_draft = c->StartDraft("small", station);
  REQUIRE(open_draft.ok());
  REQUIRE(c->SetAnswer(*open_draft, "q1_sealed", Bool(false)).ok());
  REQUIRE(c->SetAnswer(*open_draft, "q2_why_not", Text(draft_marker)).ok());
  IncidentInput in;
  in.station_code = incident_station;
  in.category = "violence";
  in.severity = "critical";
  in.narrative = narrative;
  REQUIRE(c->ReportIncident(in).ok());
  auto sealed = c->SealOutbox();
  REQUIRE(sealed.ok());
  CHECK(*sealed == 1);
  auto pending = c->PendingBatches();
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 1);
  // The batch carries the answers in clear (it is signed, not encrypted), so the stored
  // copy must be sealed: the scan below covers it.
  {
    v1::SignedBatch sb;
    REQUIRE(sb.ParseFromString(pending->front().signed_batch));
    v1::Batch batch;
    REQUIRE(batch.ParseFromString(sb.batch_bytes()));
    auto records = protocol::DecodePayload(batch);
    REQUIRE(records.ok());
    CHECK(Contains(records->SerializeAsString(), marker));
  }

  // The secrets the files must not hold: the data key and the private key seed, taken from
  // the store with the PIN the way the client does it.
  const std::string db_path = home + "/vigil.db";
  auto data_key = FastPin()->Unwrap(test_support::StoreMetaValue(db_path, "wrapped_data_key"));
  REQUIRE(data_key.ok());
  REQUIRE(data_key->size() == 32);
  auto seed =
      crypto::Open(*data_key, test_support::StoreMetaValue(db_path, "device_key"), kDeviceKeyAad);
  REQUIRE(seed.ok());
  REQUIRE(seed->size() == 32);
  REQUIRE(PublicKeyOfSeed(*seed) == c->public_key());

  const std::string public_key = c->public_key();
  auto check_files = [&](const char* when) {
    INFO("store files " << when);
    std::vector<std::string> names;
    std::string bytes = StoreFilesBytes(home, &names);
    std::string listed;
    for (const auto& n : names) listed += n + " ";
    INFO("files: " << listed);
    REQUIRE_FALSE(bytes.empty());
    // Sanity: the public key is stored in clear, so the scan must find it.
    CHECK(Contains(bytes, public_key));
    for (const std::string& secret : {marker, khmer_marker, station, draft_marker, narrative,
                                      incident_station, *data_key, *seed}) {
      CHECK_FALSE(Contains(bytes, secret));
    }
  };
  // While the client is open, recent writes may live only in the write-ahead log.
  check_files("while open");
  c.reset();
  check_files("after close");
  auto reopened = OpenClient(home);
  check_files("after reopen");
}

TEST_CASE("encryption: a tampered or moved sealed record does not open") {
  TempDir dir;
  std::string home = dir / "home";
  auto c = InitClient(home);
  REQUIRE(c->ImportForm(SmallChecklist()).ok());
  auto a = c->StartDraft("small", "01-01-01-0001");
  auto b = c->StartDraft("small", "01-01-01-0002");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2((home + "/vigil.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) ==
          SQLITE_OK);
  auto exec = [&](const std::string& sql) {
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  };
  // Record b gets a's sealed bytes: the associated data binds them to a's id.
  exec("UPDATE records SET sealed = (SELECT sealed FROM records WHERE record_id = '" + *a +
       "') WHERE record_id = '" + *b + "'");
  auto moved = c->GetRecord(*b);
  REQUIRE_FALSE(moved.ok());
  CHECK(moved.status().code() == StatusCode::kDataLoss);
  // One flipped bit in a's ciphertext.
  std::string sealed;
  {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT sealed FROM records WHERE record_id = ?", -1, &st,
                               nullptr) == SQLITE_OK);
    sqlite3_bind_text(st, 1, a->c_str(), -1, SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    sealed.assign(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                  static_cast<size_t>(sqlite3_column_bytes(st, 0)));
    sqlite3_finalize(st);
  }
  REQUIRE(sealed.size() > 30);
  sealed[20] = static_cast<char>(sealed[20] ^ 1);
  {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "UPDATE records SET sealed = ? WHERE record_id = ?", -1, &st,
                               nullptr) == SQLITE_OK);
    sqlite3_bind_blob(st, 1, sealed.data(), static_cast<int>(sealed.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, a->c_str(), -1, SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  auto flipped = c->GetRecord(*a);
  REQUIRE_FALSE(flipped.ok());
  CHECK(flipped.status().code() == StatusCode::kDataLoss);
}

}  // namespace
}  // namespace vigil::client::test
