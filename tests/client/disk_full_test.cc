// A full disk on the device, simulated with OpenOptions::max_store_bytes (SQLite's
// max_page_count): finalizing fails with a clear, retryable error and keeps the draft with
// its answers; once there is room the same draft finalizes.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <vector>

#include "client_test_support.h"
#include "vigil/client/client.h"

namespace vigil::client::test {
namespace {

constexpr char kStation[] = "12-03-07-0452";

// One required text question.
v1::FormDefinition NotesForm() {
  v1::FormDefinition def = NewForm("notes");
  AddQuestion(def, "text", v1::TEXT, true).set_max(4000);
  return def;
}

std::unique_ptr<Client> OpenWith(const std::string& home, const OpenOptions& options) {
  auto protector = FastPin();
  auto c = Client::Open(home, protector.get(), options);
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  return std::move(c).value();
}

// The size of a store in bytes as SQLite counts it (pages in the WAL included).
int64_t StoreBytes(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  int64_t bytes = 0;
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT page_count * page_size FROM pragma_page_count(), "
                             "pragma_page_size()",
                             -1, &stmt, nullptr) == SQLITE_OK);
  if (sqlite3_step(stmt) == SQLITE_ROW) bytes = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  REQUIRE(bytes > 0);
  return bytes;
}

std::string TextOf(Client& client, const std::string& id) {
  auto record = client.GetRecord(id);
  REQUIRE_MESSAGE(record.ok(), record.status().ToString());
  REQUIRE(record->record.submission().answers_size() == 1);
  return record->record.submission().answers(0).value().text();
}

TEST_CASE("device disk full: finalize fails clearly and keeps the draft until there is room") {
  TempDir dir;
  const std::string home = dir / "home";
  {
    auto client = InitClient(home);
    REQUIRE(client->ImportForm(NotesForm()).ok());
  }
  OpenOptions full;
  full.max_store_bytes = StoreBytes(home + "/vigil.db") + 64 * 1024;  // Room for a few drafts.
  auto client = OpenWith(home, full);

  // Fill the store with drafts until it refuses one: every kept draft has its answer.
  std::vector<std::pair<std::string, std::string>> drafts;  // id, text
  Status refused;
  for (int i = 0; i < 10000 && refused.ok(); ++i) {
    auto id = client->StartDraft("notes", kStation);
    if (!id.ok()) {
      refused = id.status();
      break;
    }
    // Small drafts of one size pack the pages: each keeps less free room than a draft.
    std::string text = "draft " + std::to_string(100000 + i) + " " +
                       std::string(40, static_cast<char>('a' + i % 26));
    refused = client->SetAnswer(*id, "text", Text(text));
    drafts.emplace_back(*id, refused.ok() ? text : "");
  }
  REQUIRE(refused.code() == StatusCode::kResourceExhausted);
  CHECK(refused.IsRetryable());
  CHECK(Contains(refused.message(), "full"));
  if (!drafts.empty() && drafts.back().second.empty()) drafts.pop_back();  // Its answer failed.
  REQUIRE(drafts.size() >= 2);

  // Finalize them in turn: finalizing grows each record a little (its finalize time and place
  // in the outbox), so on a packed page one of them must fail.
  size_t finalized = 0;
  Status failure;
  for (const auto& [id, text] : drafts) {
    auto done = client->Finalize(id);
    if (!done.ok()) {
      failure = done.status();
      break;
    }
    ++finalized;
  }
  REQUIRE_MESSAGE(failure.code() == StatusCode::kResourceExhausted, failure.ToString());
  CHECK(Contains(failure.message(), "is kept as a draft"));
  CHECK(Contains(failure.message(), "the disk is full"));
  const auto& [kept_id, kept_text] = drafts[finalized];
  auto open_drafts = client->ListDrafts();
  REQUIRE(open_drafts.ok());
  CHECK(open_drafts->size() == drafts.size() - finalized);
  CHECK(std::find(open_drafts->begin(), open_drafts->end(), kept_id) != open_drafts->end());
  CHECK(TextOf(*client, kept_id) == kept_text);
  CHECK(client->GetRecord(kept_id)->state == 0);
  client.reset();

  // Room again: the same draft finalizes, answers intact, and so do the rest.
  auto roomy = OpenWith(home, {});
  REQUIRE(roomy->Finalize(kept_id).ok());
  CHECK(TextOf(*roomy, kept_id) == kept_text);
  for (size_t i = finalized + 1; i < drafts.size(); ++i) {
    REQUIRE(roomy->Finalize(drafts[i].first).ok());
  }
  auto status = roomy->GetStatus();
  REQUIRE(status.ok());
  CHECK(status->drafts == 0);
  CHECK(status->outbox == static_cast<int64_t>(drafts.size()));
}

}  // namespace
}  // namespace vigil::client::test
