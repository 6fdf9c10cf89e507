// Schema migrations of the device store (client-core/src/store/schema.cc): an older store is
// upgraded in place with its rows kept; a newer one is refused and left untouched.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "client_test_support.h"
#include "store/schema.h"

namespace vigil::client::test {
namespace {

// A plain sqlite3 connection for looking at a store from outside the client.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string message = err != nullptr ? err : "";
    sqlite3_free(err);
    REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << message);
  }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

bool HasTable(RawDb& db, const std::string& name) {
  return db.Int("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='" + name + "'") ==
         1;
}

TEST_CASE("store migration: a new store is at the latest schema") {
  TempDir dir;
  InitClient(dir / "home").reset();
  RawDb db(dir / "home/vigil.db");
  CHECK(db.Int("PRAGMA user_version") == store::kLatestSchema);
  CHECK(store::kLatestSchema == 3);
  CHECK(HasTable(db, "receipts"));
  CHECK(HasTable(db, "server_holds"));
}

TEST_CASE("store migration: a schema 1 store is upgraded on open and its rows are kept") {
  TempDir dir;
  // A donor store gives real key material and a form, a draft and a finalized record.
  std::string donor_home = dir / "donor";
  std::string draft_id;
  std::string final_id;
  {
    auto donor = InitClient(donor_home);
    REQUIRE(donor->ImportForm(SmallChecklist()).ok());
    auto d = donor->StartDraft("small", "01-01-01-0001");
    REQUIRE(d.ok());
    draft_id = *d;
    REQUIRE(donor->SetAnswer(draft_id, "q1_sealed", Bool(true)).ok());
    auto f = donor->StartDraft("small", "01-01-01-0002");
    REQUIRE(f.ok());
    final_id = *f;
    REQUIRE(donor->SetAnswer(final_id, "q1_sealed", Bool(true)).ok());
    REQUIRE(donor->SetAnswer(final_id, "q3_count", Int(77)).ok());
    REQUIRE(donor->Finalize(final_id).ok());
  }

  std::string old_home = dir / "old";
  std::filesystem::create_directories(old_home);
  std::string old_path = old_home + "/vigil.db";
  {
    auto db = store::OpenStore(old_path, /*create=*/true);
    REQUIRE(db.ok());
    REQUIRE(store::Migrate(**db, 1).ok());
    auto v = store::SchemaVersion(**db);
    REQUIRE(v.ok());
    REQUIRE(*v == 1);
  }
  {
    RawDb db(old_path);
    CHECK_FALSE(HasTable(db, "receipts"));
    db.Exec("ATTACH DATABASE '" + donor_home + "/vigil.db' AS donor");
    db.Exec("INSERT INTO meta SELECT * FROM donor.meta");
    db.Exec("INSERT INTO forms SELECT * FROM donor.forms");
    db.Exec("INSERT INTO records SELECT * FROM donor.records");
    db.Exec("DETACH DATABASE donor");
    CHECK(db.Int("PRAGMA user_version") == 1);
  }

  auto c = OpenClient(old_home);
  {
    RawDb db(old_path);
    CHECK(db.Int("PRAGMA user_version") == 3);
    CHECK(HasTable(db, "receipts"));
    CHECK(HasTable(db, "inbox"));
    CHECK(HasTable(db, "server_holds"));
    CHECK(db.Int("SELECT count(*) FROM records") == 2);
  }
  auto form = c->GetForm("small");
  REQUIRE(form.ok());
  CHECK(form->definition().SerializeAsString() == SmallChecklist().SerializeAsString());
  auto final_rec = c->GetRecord(final_id);
  REQUIRE_MESSAGE(final_rec.ok(), final_rec.status().ToString());
  CHECK(final_rec->state == 1);
  CHECK(final_rec->record.submission().answers(1).value().integer() == 77);
  // The old draft can still be finished.
  REQUIRE(c->SetAnswer(draft_id, "q3_count", Int(5)).ok());
  CHECK(c->Finalize(draft_id).ok());
}

TEST_CASE("store migration: migrating an up-to-date store changes nothing") {
  TempDir dir;
  auto c = InitClient(dir / "home");
  REQUIRE(c->ImportForm(SmallChecklist()).ok());
  c.reset();
  auto db = store::OpenStore(dir / "home/vigil.db", false);
  REQUIRE(db.ok());
  CHECK(store::Migrate(**db).ok());
  auto v = store::SchemaVersion(**db);
  REQUIRE(v.ok());
  CHECK(*v == store::kLatestSchema);
  auto forms = (*db)->QueryInt("SELECT count(*) FROM forms");
  REQUIRE(forms.ok());
  CHECK(*forms == 1);
}

TEST_CASE("store migration: a store from a newer build is refused and left untouched") {
  TempDir dir;
  std::string home = dir / "home";
  std::string path = home + "/vigil.db";
  InitClient(home).reset();
  {
    RawDb db(path);
    db.Exec("PRAGMA user_version=99");
    db.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  REQUIRE_FALSE(std::filesystem::exists(path + "-wal"));
  const std::string before = ReadBytes(path);
  REQUIRE_FALSE(before.empty());

  auto protector = FastPin();
  auto unlocked = Client::Open(home, protector.get());
  REQUIRE_FALSE(unlocked.ok());
  CHECK(unlocked.status().code() == StatusCode::kUnimplemented);
  CHECK(Contains(unlocked.status().message(), "99"));
  CHECK(Contains(unlocked.status().message(), std::to_string(store::kLatestSchema)));
  auto locked = Client::Open(home, nullptr);
  REQUIRE_FALSE(locked.ok());
  CHECK(locked.status().code() == StatusCode::kUnimplemented);

  CHECK(ReadBytes(path) == before);
  RawDb db(path);
  CHECK(db.Int("PRAGMA user_version") == 99);
}

TEST_CASE("store migration: opening a folder without a store says so") {
  TempDir dir;
  auto c = Client::Open(dir / "nothing-here", nullptr);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == StatusCode::kNotFound);
  CHECK_FALSE(std::filesystem::exists(dir / "nothing-here/vigil.db"));
}

}  // namespace
}  // namespace vigil::client::test
