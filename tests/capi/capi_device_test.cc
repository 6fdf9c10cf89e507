// The C API offline (vigil/client.h only): drafts listed, resumed and discarded, location,
// outbox export, PIN change, wipe, and that every error path returns a code and a message.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "c_strings.h"
#include "support/files.h"
#include "support/temp_dir.h"
#include "vigil/client.h"

namespace vigil::capi_test {
namespace {

using test_support::TempDir;

const char* kCounts = R"({
  "formId": "counts", "version": 1, "kind": "CHECKLIST", "defaultLanguage": "en",
  "title": {"en": "Counts"},
  "questions": [
    {"id": "members", "type": "INTEGER", "label": {"en": "Members"}, "min": 0, "max": 9,
     "required": true},
    {"id": "women", "type": "INTEGER", "label": {"en": "Women"}, "min": 0, "max": 9,
     "required": true},
    {"id": "materials", "type": "SELECT_MANY", "label": {"en": "Materials"},
     "options": [{"id": "ballots", "label": {"en": "Ballots"}},
                 {"id": "seals", "label": {"en": "Seals"}}]},
    {"id": "remarks", "type": "TEXT", "label": {"en": "Remarks"}}
  ],
  "qaChecks": [{"id": "women_le_members", "label": {"en": "Women do not exceed members"},
                "left": [{"questionId": "women"}], "op": "LESS_OR_EQUAL",
                "right": [{"questionId": "members"}]}]})";

const char* kIncidentForm = R"({
  "formId": "incident", "version": 1, "kind": "INCIDENT", "defaultLanguage": "en",
  "title": {"en": "Incident"},
  "questions": [
    {"id": "category", "type": "SELECT_ONE", "label": {"en": "Category"}, "required": true,
     "options": [{"id": "intimidation", "label": {"en": "Intimidation"}}]},
    {"id": "severity", "type": "SELECT_ONE", "label": {"en": "Severity"}, "required": true,
     "options": [{"id": "high", "label": {"en": "High"}}]},
    {"id": "narrative", "type": "TEXT", "label": {"en": "What happened"}}
  ]})";

// A platform keystore stand-in that remembers the raw data key it was given to wrap, so a
// test can look for the key itself in the files.
struct SpyKeystore {
  std::string seen_key;
};

bool SpyWrap(void* ctx, const uint8_t* key, size_t n, uint8_t** out, size_t* out_len) {
  auto* ks = static_cast<SpyKeystore*>(ctx);
  ks->seen_key.assign(reinterpret_cast<const char*>(key), n);
  *out = static_cast<uint8_t*>(malloc(n));
  for (size_t i = 0; i < n; ++i) (*out)[i] = key[i] ^ 0xa5;
  *out_len = n;
  return true;
}

bool SpyUnwrap(void* /*ctx*/, const uint8_t* blob, size_t n, uint8_t** out, size_t* out_len) {
  *out = static_cast<uint8_t*>(malloc(n));
  for (size_t i = 0; i < n; ++i) (*out)[i] = blob[i] ^ 0xa5;
  *out_len = n;
  return true;
}

// Every byte of every regular file under `dir`.
std::vector<std::string> FilesUnder(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    out.push_back(test_support::ReadFile(e.path()));
  }
  return out;
}

bool AnyFileHas(const std::filesystem::path& dir, const std::string& needle) {
  for (const std::string& bytes : FilesUnder(dir)) {
    if (bytes.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("C API: drafts are listed, resumed with their answers, and discarded") {
  TempDir dir;
  VigilError err;
  VigilClient* c = vigil_client_init((dir / "home").c_str(), "246810", "s", &err);
  REQUIRE_MESSAGE(c != nullptr, err.message);
  REQUIRE(vigil_client_import_form_json(c, kCounts, &err));
  CStr first(vigil_client_start_draft(c, "counts", "st-1", &err));
  CStr second(vigil_client_start_draft(c, "counts", "st-2", &err));
  REQUIRE(first.p != nullptr);
  REQUIRE(second.p != nullptr);
  REQUIRE(vigil_client_set_answer_text(c, first.p, "members", "5", &err));
  REQUIRE(vigil_client_set_answer_text(c, first.p, "materials", "ballots, seals", &err));
  REQUIRE(vigil_client_set_answer_text(c, first.p, "remarks", "Queue of 40 at 06:50", &err));
  REQUIRE(vigil_client_set_location(c, first.p, 11.55, 104.92, 8.5, &err));
  CHECK_FALSE(vigil_client_set_location(c, first.p, 91, 0, 1, &err));
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);

  CStr list(vigil_client_drafts_json(c, &err));
  REQUIRE_MESSAGE(list.p != nullptr, err.message);
  CHECK(list.str().find(first.str()) < list.str().find(second.str()));  // oldest first
  CHECK(list.has("\"stationCode\":\"st-2\""));
  CHECK(list.has("\"answered\":3"));

  // Closed and opened again (the app restarted): the draft resumes with what was answered.
  vigil_client_close(c);
  c = vigil_client_open((dir / "home").c_str(), "246810", &err);
  REQUIRE_MESSAGE(c != nullptr, err.message);
  CStr resumed(vigil_client_draft_json(c, first.p, &err));
  REQUIRE_MESSAGE(resumed.p != nullptr, err.message);
  CHECK(resumed.has("\"members\":5"));
  CHECK(resumed.has("\"materials\":[\"ballots\",\"seals\"]"));
  CHECK(resumed.has("\"remarks\":\"Queue of 40 at 06:50\""));
  CHECK(resumed.has("\"latitude\":11.55"));
  CHECK(resumed.has("\"stationCode\":\"st-1\""));

  REQUIRE(vigil_client_set_answer_text(c, first.p, "women", "7", &err));
  CStr warnings(vigil_client_warnings_json(c, first.p, &err));
  CHECK(warnings.has("women_le_members"));
  CHECK(warnings.has("Women do not exceed members"));
  CStr id(vigil_client_finalize(c, first.p, &err));  // A warning never blocks finalize.
  CHECK_MESSAGE(id.p != nullptr, err.message);

  // A finalized record is no draft: it cannot be resumed, discarded or moved.
  CStr not_draft(vigil_client_draft_json(c, first.p, &err));
  CHECK(not_draft.p == nullptr);
  CHECK(err.code == VIGIL_FAILED_PRECONDITION);
  CHECK_FALSE(vigil_client_discard_draft(c, first.p, &err));
  CHECK(err.code == VIGIL_NOT_FOUND);
  CHECK_FALSE(vigil_client_set_location(c, first.p, 1, 1, 1, &err));
  CHECK(err.code == VIGIL_FAILED_PRECONDITION);

  REQUIRE(vigil_client_discard_draft(c, second.p, &err));
  CStr empty(vigil_client_drafts_json(c, &err));
  CHECK(empty.str() == "[]");
  CStr gone(vigil_client_draft_json(c, second.p, &err));
  CHECK(gone.p == nullptr);
  CHECK(err.code == VIGIL_NOT_FOUND);
  vigil_client_close(c);
}

TEST_CASE("C API: an incident takes a location until it is sealed, and the outbox exports") {
  TempDir dir;
  VigilError err;
  VigilClient* c = vigil_client_init((dir / "home").c_str(), "246810", "srv", &err);
  REQUIRE(c != nullptr);
  REQUIRE(vigil_client_import_form_json(c, kIncidentForm, &err));
  CStr incident(vigil_client_report_incident(c, "st-1", "intimidation", "high", "at the gate",
                                             nullptr, &err));
  REQUIRE_MESSAGE(incident.p != nullptr, err.message);
  REQUIRE(vigil_client_set_location(c, incident.p, -33.9, 151.2, 30, &err));
  CStr follow(vigil_client_report_incident(c, "st-1", "intimidation", "high", "still there",
                                           incident.p, &err));
  REQUIRE(follow.p != nullptr);
  CStr orphan(vigil_client_report_incident(c, "st-1", "intimidation", "high", "x",
                                           "no-such-incident", &err));
  CHECK(orphan.p == nullptr);
  CHECK(err.code == VIGIL_NOT_FOUND);

  CStr exported(vigil_client_export_outbox(c, (dir / "out").c_str(), &err));
  REQUIRE_MESSAGE(exported.p != nullptr, err.message);
  CHECK(exported.has("\"sealedNow\":1"));
  CHECK(exported.has("\"file\":\"000001.batch\""));
  CHECK(exported.has("\"records\":2"));
  CHECK(std::filesystem::exists(std::filesystem::path(dir / "out") / "000001.batch"));
  CHECK(test_support::ReadFile(std::filesystem::path(dir / "out") / "server-id") == "srv");
  CHECK(std::filesystem::exists(std::filesystem::path(dir / "out") / "device.pub.pem"));

  CHECK_FALSE(vigil_client_set_location(c, incident.p, 1, 1, 1, &err));  // Sealed now.
  CHECK(err.code == VIGIL_FAILED_PRECONDITION);
  CHECK(std::strlen(err.message) > 0);
  vigil_client_close(c);
}

TEST_CASE("C API: the PIN changes, and the old one no longer opens the store") {
  TempDir dir;
  VigilError err;
  const std::string home = dir / "home";
  VigilClient* c = vigil_client_init(home.c_str(), "246810", "s", &err);
  REQUIRE(c != nullptr);
  REQUIRE(vigil_client_import_form_json(c, kCounts, &err));
  CStr draft(vigil_client_start_draft(c, "counts", "st-1", &err));
  REQUIRE(draft.p != nullptr);
  CHECK_FALSE(vigil_client_change_pin(c, "999999", "13579246", &err));
  CHECK(err.code == VIGIL_PERMISSION_DENIED);
  CHECK(std::string(err.message).find("wrong PIN") != std::string::npos);
  CHECK_FALSE(vigil_client_change_pin(c, "246810", "123", &err));
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);
  REQUIRE_MESSAGE(vigil_client_change_pin(c, "246810", "13579246", &err), err.message);
  vigil_client_close(c);

  CHECK(vigil_client_open(home.c_str(), "246810", &err) == nullptr);
  CHECK(err.code == VIGIL_PERMISSION_DENIED);
  c = vigil_client_open(home.c_str(), "13579246", &err);
  REQUIRE_MESSAGE(c != nullptr, err.message);
  CHECK(vigil_client_set_answer_text(c, draft.p, "members", "4", &err));  // Same data key.
  vigil_client_close(c);

  VigilClient* locked = vigil_client_open(home.c_str(), nullptr, &err);
  REQUIRE(locked != nullptr);
  CHECK_FALSE(vigil_client_change_pin(locked, "13579246", "24682468", &err));
  CHECK(err.code == VIGIL_FAILED_PRECONDITION);
  vigil_client_close(locked);
}

TEST_CASE("C API: wipe leaves nothing readable: no key, no wrapped key, no answer") {
  TempDir dir;
  VigilError err;
  const std::string home = dir / "home";
  SpyKeystore keystore;
  VigilKeyProtector protector{&keystore, SpyWrap, SpyUnwrap};
  VigilClient* c = vigil_client_init_with_protector(home.c_str(), &protector, "srv", &err);
  REQUIRE_MESSAGE(c != nullptr, err.message);
  REQUIRE(keystore.seen_key.size() == 32);
  REQUIRE(vigil_client_import_form_json(c, kCounts, &err));
  const std::string secret = "Commune chief threatened the committee";
  CStr draft(vigil_client_start_draft(c, "counts", "st-77", &err));
  REQUIRE(vigil_client_set_answer_text(c, draft.p, "members", "5", &err));
  REQUIRE(vigil_client_set_answer_text(c, draft.p, "women", "2", &err));
  REQUIRE(vigil_client_set_answer_text(c, draft.p, "remarks", secret.c_str(), &err));
  CStr id(vigil_client_finalize(c, draft.p, &err));
  REQUIRE(id.p != nullptr);
  CStr other(vigil_client_start_draft(c, "counts", "st-77", &err));
  REQUIRE(vigil_client_set_answer_text(c, other.p, "remarks", secret.c_str(), &err));
  REQUIRE(vigil_client_seal_outbox(c, &err) == 1);

  // Before: the wrapped key and the sealed device key are in the files (so the search finds
  // what it looks for); the answers and the raw data key never are (encrypted at rest).
  const std::string wrapped = test_support::StoreMetaValue(home + "/vigil.db", "wrapped_data_key");
  const std::string sealed_seed = test_support::StoreMetaValue(home + "/vigil.db", "device_key");
  REQUIRE(wrapped.size() == 32);
  REQUIRE(sealed_seed.size() > 32);
  CHECK(AnyFileHas(home, wrapped));
  CHECK(AnyFileHas(home, sealed_seed));
  CHECK_FALSE(AnyFileHas(home, keystore.seen_key));
  CHECK_FALSE(AnyFileHas(home, secret));

  REQUIRE_MESSAGE(vigil_client_wipe(c, &err), err.message);
  for (const std::string& needle : {wrapped, sealed_seed, keystore.seen_key, secret,
                                    std::string("st-77"), std::string("women_le_members")}) {
    CHECK_FALSE(AnyFileHas(home, needle));
  }
  // The handle is spent; nothing opens the store again, with or without the key.
  CStr status(vigil_client_status_json(c, &err));
  CHECK(status.p == nullptr);
  CHECK(err.code == VIGIL_FAILED_PRECONDITION);
  CHECK(vigil_client_wipe(c, &err));  // Twice is fine.
  vigil_client_close(c);
  CHECK(vigil_client_open_with_protector(home.c_str(), &protector, &err) == nullptr);
  CHECK(err.code == VIGIL_NOT_FOUND);
  CHECK(vigil_wipe_home(home.c_str(), &err));  // Nothing there: fine.
}

TEST_CASE("C API: the duress PIN wipes the store and opens an empty one") {
  TempDir dir;
  VigilError err;
  const std::string home = dir / "home";
  VigilClient* c = vigil_client_init(home.c_str(), "246810", "srv", &err);
  REQUIRE_MESSAGE(c != nullptr, err.message);
  REQUIRE(vigil_client_import_form_json(c, kCounts, &err));
  const std::string secret = "Commune chief threatened the committee";
  CStr draft(vigil_client_start_draft(c, "counts", "st-77", &err));
  REQUIRE(vigil_client_set_answer_text(c, draft.p, "members", "5", &err));
  REQUIRE(vigil_client_set_answer_text(c, draft.p, "women", "2", &err));
  REQUIRE(vigil_client_set_answer_text(c, draft.p, "remarks", secret.c_str(), &err));
  CStr id(vigil_client_finalize(c, draft.p, &err));
  REQUIRE_MESSAGE(id.p != nullptr, err.message);
  REQUIRE(vigil_client_seal_outbox(c, &err) == 1);
  CStr device(vigil_client_device_id(c, &err));
  REQUIRE(device.p != nullptr);

  CHECK_FALSE(vigil_client_set_duress_pin(c, "246810", &err));  // The PIN itself.
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);
  CHECK_FALSE(vigil_client_set_duress_pin(c, "135", &err));  // Too short.
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);
  REQUIRE_MESSAGE(vigil_client_set_duress_pin(c, "135790", &err), err.message);
  vigil_client_close(c);

  const std::string wrapped = test_support::StoreMetaValue(home + "/vigil.db", "wrapped_data_key");
  const std::string sealed_seed = test_support::StoreMetaValue(home + "/vigil.db", "device_key");
  REQUIRE_FALSE(wrapped.empty());
  REQUIRE(AnyFileHas(home, sealed_seed));
  // A wrong PIN is only that: the store stays, and the PIN still opens it.
  CHECK(vigil_client_open(home.c_str(), "000000", &err) == nullptr);
  CHECK(err.code == VIGIL_PERMISSION_DENIED);
  VigilClient* again = vigil_client_open(home.c_str(), "246810", &err);
  REQUIRE_MESSAGE(again != nullptr, err.message);
  vigil_client_close(again);

  // The duress PIN: a store that looks never used, and nothing left of the real one.
  VigilClient* empty = vigil_client_open(home.c_str(), "135790", &err);
  REQUIRE_MESSAGE(empty != nullptr, err.message);
  CStr fresh(vigil_client_device_id(empty, &err));
  REQUIRE(fresh.p != nullptr);
  CHECK(std::string(fresh.p) != std::string(device.p));
  CStr forms(vigil_client_forms_json(empty, &err));
  REQUIRE(forms.p != nullptr);
  CHECK(std::string(forms.p) == "[]");
  VigilBatchList* batches = vigil_client_pending_batches(empty, &err);
  REQUIRE(batches != nullptr);
  CHECK(vigil_batch_list_count(batches) == 0);
  vigil_batch_list_free(batches);
  vigil_client_close(empty);
  for (const std::string& needle :
       {wrapped, sealed_seed, secret, std::string("st-77"), std::string(device.p)}) {
    CHECK_FALSE(AnyFileHas(home, needle));
  }
  CHECK(vigil_client_open(home.c_str(), "246810", &err) == nullptr);  // The real store is gone.
  CHECK(err.code == VIGIL_PERMISSION_DENIED);
}

TEST_CASE("C API: every call fails cleanly on NULL and on a locked or unenrolled store") {
  TempDir dir;
  VigilError err;
  CHECK(vigil_client_enroll(nullptr, "x", nullptr, nullptr, nullptr, &err) == nullptr);
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);
  CHECK(vigil_client_sync(nullptr, nullptr, nullptr, nullptr, &err) == nullptr);
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);
  CHECK_FALSE(vigil_client_wipe(nullptr, &err));
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);
  CHECK_FALSE(vigil_wipe_home(nullptr, &err));
  vigil_client_sync_cancel(nullptr);

  VigilClient* c = vigil_client_init((dir / "home").c_str(), "246810", nullptr, &err);
  REQUIRE(c != nullptr);
  CHECK(vigil_client_sync(c, nullptr, nullptr, nullptr, &err) == nullptr);
  CHECK(err.code == VIGIL_FAILED_PRECONDITION);
  CHECK(std::string(err.message).find("not enrolled") != std::string::npos);
  CHECK(vigil_client_verify_receipts(c, &err) == nullptr);
  CHECK(err.code == VIGIL_FAILED_PRECONDITION);
  CHECK(vigil_client_enroll(c, "not base64!", nullptr, nullptr, nullptr, &err) == nullptr);
  CHECK(err.code != VIGIL_OK);
  CHECK(std::strlen(err.message) > 0);
  CHECK(vigil_client_draft_json(c, nullptr, &err) == nullptr);
  CHECK(err.code == VIGIL_INVALID_ARGUMENT);
  CHECK(vigil_client_warnings_json(c, "nope", &err) == nullptr);
  CHECK(err.code == VIGIL_NOT_FOUND);
  CHECK(vigil_client_export_outbox(c, (dir / "out").c_str(), &err) == nullptr);
  CHECK(err.code == VIGIL_FAILED_PRECONDITION);  // No server id: nothing can be sealed.
  CStr inbox(vigil_client_inbox_json(c, &err));
  CHECK(inbox.str() == "[]");
  CStr statuses(vigil_client_incident_statuses_json(c, &err));
  CHECK(statuses.str() == "[]");
  vigil_client_sync_cancel(c);  // No sync running: nothing happens.
  vigil_client_close(c);
}

}  // namespace
}  // namespace vigil::capi_test

namespace vigil::capi_test {
namespace {

TEST_CASE("docs/embedding.md shows the C example exactly as the tests compile it") {
  const std::string example = test_support::ReadFile(VIGIL_EXAMPLE_C);
  const std::string doc = test_support::ReadFile(VIGIL_EMBEDDING_DOC);
  REQUIRE(example.size() > 500);
  CHECK(doc.find("## The C API") != std::string::npos);
  CHECK(doc.find("```c\n" + example + "```") != std::string::npos);
}

}  // namespace
}  // namespace vigil::capi_test
