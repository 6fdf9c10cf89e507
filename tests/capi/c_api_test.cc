// Drives the whole device flow through the C API alone (vigil/client.h): no C++ API here.
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/temp_dir.h"
#include "vigil/client.h"

namespace {

using vigil::test_support::TempDir;

// A string returned by the C API, freed with vigil_free.
struct CStr {
  char* p;
  explicit CStr(char* s) : p(s) {}
  ~CStr() { vigil_free(p); }
  std::string str() const { return p != nullptr ? p : ""; }
};

const char* kForm = R"({
  "formId": "mini", "version": 1, "kind": "CHECKLIST", "defaultLanguage": "en",
  "title": {"en": "Mini", "km": "តូច"},
  "questions": [
    {"id": "box_sealed", "type": "YES_NO", "label": {"en": "Box sealed"}, "required": true},
    {"id": "seal_numbers", "type": "TEXT", "label": {"en": "Seal numbers"}, "required": true,
     "relevantWhen": [{"questionId": "box_sealed", "op": "EQUALS", "value": {"boolean": true}}]},
    {"id": "members", "type": "INTEGER", "label": {"en": "Members"}, "min": 0, "max": 6,
     "required": true}
  ]})";

const char* kIncidentForm = R"({
  "formId": "incident", "version": 1, "kind": "INCIDENT", "defaultLanguage": "en",
  "title": {"en": "Incident"},
  "questions": [
    {"id": "category", "type": "SELECT_ONE", "label": {"en": "Category"}, "required": true,
     "options": [{"id": "intimidation", "label": {"en": "Intimidation"}},
                 {"id": "other", "label": {"en": "Other"}}]},
    {"id": "severity", "type": "SELECT_ONE", "label": {"en": "Severity"}, "required": true,
     "options": [{"id": "low", "label": {"en": "Low"}}, {"id": "high", "label": {"en": "High"}}]},
    {"id": "narrative", "type": "TEXT", "label": {"en": "What happened"}, "required": true}
  ]})";

bool VerifyBatch(const uint8_t* bytes, size_t len, const std::string& pem,
                 const std::string& server_id) {
  // SignedBatch: field 1 (batch_bytes) and field 2 (signature), both length-delimited.
  auto varint = [&](size_t& i) {
    uint64_t v = 0;
    for (int shift = 0; i < len; shift += 7) {
      uint8_t b = bytes[i++];
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    return v;
  };
  std::string fields[3];
  for (size_t i = 0; i < len;) {
    uint64_t tag = varint(i);
    uint64_t n = varint(i);
    if ((tag & 7) != 2 || (tag >> 3) > 2 || i + n > len) return false;
    fields[tag >> 3].assign(reinterpret_cast<const char*>(bytes + i), n);
    i += n;
  }
  std::string input = "vigil/v1/batch";
  input.push_back('\0');
  input += server_id;
  input.push_back('\0');
  input += fields[1];
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(fields[2].data()),
                             fields[2].size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

// A toy key protector standing in for a platform keystore: XOR with a secret byte, plus a
// marker so a wrong secret is detected.
struct ToyKeystore {
  uint8_t secret;
};

bool ToyWrap(void* ctx, const uint8_t* key, size_t n, uint8_t** out, size_t* out_len) {
  auto* ks = static_cast<ToyKeystore*>(ctx);
  *out = static_cast<uint8_t*>(malloc(n + 1));
  (*out)[0] = ks->secret;
  for (size_t i = 0; i < n; ++i) (*out)[i + 1] = key[i] ^ ks->secret;
  *out_len = n + 1;
  return true;
}

bool ToyUnwrap(void* ctx, const uint8_t* blob, size_t n, uint8_t** out, size_t* out_len) {
  auto* ks = static_cast<ToyKeystore*>(ctx);
  if (n < 1 || blob[0] != ks->secret) return false;
  *out = static_cast<uint8_t*>(malloc(n - 1));
  for (size_t i = 1; i < n; ++i) (*out)[i - 1] = blob[i] ^ ks->secret;
  *out_len = n - 1;
  return true;
}

TEST_CASE("the whole device flow through the C API alone") {
  TempDir dir;
  VigilError err;
  VigilClient* c = vigil_client_init((dir / "home").c_str(), "246810", "test-server", &err);
  REQUIRE_MESSAGE(c != nullptr, err.message);
  CHECK(err.code == VIGIL_OK);
  REQUIRE(vigil_client_import_form_json(c, kForm, &err));
  REQUIRE(vigil_client_import_form_json(c, kIncidentForm, &err));
  CStr forms(vigil_client_forms_json(c, &err));
  CHECK(forms.str().find("\"mini\"") != std::string::npos);

  CStr draft(vigil_client_start_draft(c, "mini", "12-03-07-0452", &err));
  REQUIRE_MESSAGE(draft.p != nullptr, err.message);

  // Skip logic: seal numbers only applies once the box is sealed.
  CStr before(vigil_client_relevant_questions_json(c, draft.p, &err));
  CHECK(before.str().find("seal_numbers") == std::string::npos);
  CHECK_FALSE(vigil_client_set_answer_text(c, draft.p, "seal_numbers", "A1", &err));
  CHECK(err.code == VIGIL_FAILED_PRECONDITION);
  REQUIRE(vigil_client_set_answer_text(c, draft.p, "box_sealed", "yes", &err));
  CStr after(vigil_client_relevant_questions_json(c, draft.p, &err));
  CHECK(after.str().find("seal_numbers") != std::string::npos);

  // Bounds are checked and the error says which question.
  CHECK_FALSE(vigil_client_set_answer_text(c, draft.p, "members", "9", &err));
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);
  CHECK(std::string(err.message).find("members") != std::string::npos);
  REQUIRE(vigil_client_set_answer_text(c, draft.p, "members", "5", &err));

  // Finalize refuses while a relevant required question is empty, and names it.
  CStr refused(vigil_client_finalize(c, draft.p, &err));
  CHECK(refused.p == nullptr);
  CHECK(err.code == VIGIL_FAILED_PRECONDITION);
  CHECK(std::string(err.message).find("seal_numbers") != std::string::npos);
  REQUIRE(vigil_client_set_answer_text(c, draft.p, "seal_numbers", "A1, A2", &err));
  CStr submission(vigil_client_finalize(c, draft.p, &err));
  REQUIRE_MESSAGE(submission.p != nullptr, err.message);
  CHECK(submission.str() == draft.str());

  CStr incident(vigil_client_report_incident(c, "12-03-07-0452", "intimidation", "high",
                                             "Men at the gate", nullptr, &err));
  REQUIRE_MESSAGE(incident.p != nullptr, err.message);
  CStr follow(vigil_client_report_incident(c, "12-03-07-0452", "intimidation", "high", "They left",
                                           incident.p, &err));
  REQUIRE_MESSAGE(follow.p != nullptr, err.message);
  CStr bad_category(
      vigil_client_report_incident(c, "12-03-07-0452", "dancing", "high", "x", nullptr, &err));
  CHECK(bad_category.p == nullptr);
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);

  CHECK(vigil_client_seal_outbox(c, &err) == 1);
  VigilBatchList* list = vigil_client_pending_batches(c, &err);
  REQUIRE(list != nullptr);
  REQUIRE(vigil_batch_list_count(list) == 1);
  CHECK(vigil_batch_list_seq(list, 0) == 1);
  size_t len = 0;
  const uint8_t* bytes = vigil_batch_list_bytes(list, 0, &len);
  REQUIRE(bytes != nullptr);
  CStr pem(vigil_client_public_key_pem(c, &err));
  CHECK(VerifyBatch(bytes, len, pem.str(), "test-server"));
  CHECK_FALSE(VerifyBatch(bytes, len, pem.str(), "other-server"));
  CHECK(vigil_batch_list_bytes(list, 5, &len) == nullptr);
  vigil_batch_list_free(list);

  CStr status(vigil_client_status_json(c, &err));
  CHECK(status.str().find("\"batched\":3") != std::string::npos);
  CStr device(vigil_client_device_id(c, &err));
  vigil_client_close(c);

  // A wrong PIN is refused and says so; the right one reopens the same device.
  CHECK(vigil_client_open((dir / "home").c_str(), "000000", &err) == nullptr);
  CHECK(err.code == VIGIL_PERMISSION_DENIED);
  CHECK(std::string(err.message).find("wrong PIN") != std::string::npos);
  VigilClient* again = vigil_client_open((dir / "home").c_str(), "246810", &err);
  REQUIRE(again != nullptr);
  CStr device_again(vigil_client_device_id(again, &err));
  CHECK(device_again.str() == device.str());
  vigil_client_close(again);

  // Locked: counts work, answers do not.
  VigilClient* locked = vigil_client_open((dir / "home").c_str(), nullptr, &err);
  REQUIRE(locked != nullptr);
  CStr locked_status(vigil_client_status_json(locked, &err));
  CHECK(locked_status.p != nullptr);
  CStr locked_draft(vigil_client_start_draft(locked, "mini", "12-03-07-0452", &err));
  CHECK(locked_draft.p == nullptr);
  CHECK(err.code == VIGIL_FAILED_PRECONDITION);
  vigil_client_close(locked);
}

TEST_CASE("NULL arguments fail with an error instead of crashing") {
  VigilError err;
  CHECK(vigil_client_open(nullptr, "123456", &err) == nullptr);
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);
  CHECK(vigil_client_start_draft(nullptr, "mini", "x", &err) == nullptr);
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);
  CHECK(vigil_client_seal_outbox(nullptr, nullptr) == -1);  // NULL out_error is allowed.
  CHECK(vigil_batch_list_count(nullptr) == 0);
  vigil_client_close(nullptr);
  vigil_free(nullptr);
  CHECK(vigil_client_init("/nonexistent-dir/x", "12", nullptr, &err) == nullptr);
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);  // PIN too short
}

TEST_CASE("an app-supplied key protector wraps the data key and a wrong secret is refused") {
  TempDir dir;
  VigilError err;
  ToyKeystore keystore{0x5a};
  VigilKeyProtector protector{&keystore, ToyWrap, ToyUnwrap};
  VigilClient* c = vigil_client_init_with_protector((dir / "home").c_str(), &protector, "s", &err);
  REQUIRE_MESSAGE(c != nullptr, err.message);
  REQUIRE(vigil_client_import_form_json(c, kForm, &err));
  CStr draft(vigil_client_start_draft(c, "mini", "st-1", &err));
  REQUIRE(draft.p != nullptr);
  vigil_client_close(c);

  ToyKeystore wrong{0x11};
  VigilKeyProtector wrong_protector{&wrong, ToyWrap, ToyUnwrap};
  CHECK(vigil_client_open_with_protector((dir / "home").c_str(), &wrong_protector, &err) ==
        nullptr);
  CHECK(err.code == VIGIL_PERMISSION_DENIED);
  VigilClient* again = vigil_client_open_with_protector((dir / "home").c_str(), &protector, &err);
  REQUIRE_MESSAGE(again != nullptr, err.message);
  CHECK(vigil_client_set_answer_text(again, draft.p, "members", "3", &err));

  // The keystore entry is rotated: the old secret no longer opens the store, the new one does.
  ToyKeystore rotated{0x33};
  VigilKeyProtector rotated_protector{&rotated, ToyWrap, ToyUnwrap};
  CHECK_FALSE(vigil_client_change_key_protector(again, &wrong_protector, &rotated_protector, &err));
  CHECK(err.code == VIGIL_PERMISSION_DENIED);
  REQUIRE_MESSAGE(vigil_client_change_key_protector(again, &protector, &rotated_protector, &err),
                  err.message);
  vigil_client_close(again);
  CHECK(vigil_client_open_with_protector((dir / "home").c_str(), &protector, &err) == nullptr);
  VigilClient* third =
      vigil_client_open_with_protector((dir / "home").c_str(), &rotated_protector, &err);
  REQUIRE_MESSAGE(third != nullptr, err.message);
  vigil_client_close(third);
}

}  // namespace
