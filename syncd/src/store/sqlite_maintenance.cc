// Store upkeep that is neither device-facing nor a coordinator's query: the size limit of the
// database file (disk-full behaviour, `syncd serve --max-db-mb`) and the full recomputation
// of merge's derived tables that `syncd admin verify` compares against.
//
// NOTES ON A FULL DATABASE
//
//  1. The limit is SQLite's max_page_count on the writer connection, the only connection of
//     this process that writes. A write that would grow the file past it fails with
//     SQLITE_FULL, exactly as when the disk itself is full (ENOSPC is SQLITE_FULL too).
//  2. SQLITE_FULL may roll back the whole group transaction, not only the failing statement;
//     the writer then fails every job of the group with that error (sql_store.cc,
//     WriterLoop). Nothing was acknowledged, so nothing accepted is lost: devices get 503
//     UNAVAILABLE (retryable) and send the same bytes again later.
//  3. Raising the limit (or freeing disk space) needs no restart: the next group commits.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/sql_store.h"
#include "store/sqlite_connection.h"

namespace vigil::syncd {
namespace {

// SQLite's own default max_page_count (its compile-time ceiling), read from a scratch
// in-memory connection so that "no limit" restores exactly what SQLite would use.
Result<int64_t> DefaultMaxPageCount() {
  VIGIL_ASSIGN_OR_RETURN(auto scratch, SqliteConnection::Open(":memory:", true, 0));
  sql::Statement query(*scratch, "PRAGMA max_page_count");
  VIGIL_ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return Status::Internal("PRAGMA max_page_count returned nothing");
  return query.Int(0);
}

}  // namespace

Result<int64_t> SqlStore::SetMaxDbBytes(int64_t bytes) {
  if (writer_db_->backend() != sql::Backend::kSqlite) {
    return Status::FailedPrecondition("a database size limit is SQLite's (max_page_count)");
  }
  VIGIL_ASSIGN_OR_RETURN(int64_t no_limit, DefaultMaxPageCount());
  int64_t in_force = 0;
  VIGIL_RETURN_IF_ERROR(RunSync([&](sql::Connection& db) -> Status {
    sql::Statement size(db, "PRAGMA page_size");
    VIGIL_ASSIGN_OR_RETURN(bool row, size.Step());
    const int64_t page_size = row ? size.Int(0) : 0;
    if (page_size <= 0) return Status::Internal("PRAGMA page_size returned nothing");
    int64_t pages = bytes <= 0 ? no_limit : std::min(no_limit, (bytes + page_size - 1) / page_size);
    sql::Statement set(db, "PRAGMA max_page_count = " + std::to_string(pages));
    VIGIL_ASSIGN_OR_RETURN(bool set_row, set.Step());
    if (!set_row) return Status::Internal("PRAGMA max_page_count returned nothing");
    in_force = set.Int(0) * page_size;
    return Status::Ok();
  }));
  return in_force;
}

Status SqlStore::RebuildMerge() {
  return RunSync([this](sql::Connection& db) -> Status {
    VIGIL_RETURN_IF_ERROR(
        db.Exec("DELETE FROM merge_latest; DELETE FROM masters; DELETE FROM conflicts; "
                "DELETE FROM qa_flags; DELETE FROM case_members; DELETE FROM cases;"));
    VIGIL_RETURN_IF_ERROR(ReplayMerge(db));
    // A master may hold only coordinators' overrides, with no submission to replay.
    sql::Statement overridden(db, "SELECT DISTINCT station_code, form_id FROM overrides");
    std::vector<std::pair<std::string, std::string>> pairs;
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, overridden.Step());
      if (!row) break;
      pairs.emplace_back(overridden.Text(0), overridden.Text(1));
    }
    for (const auto& [station, form] : pairs) {
      VIGIL_RETURN_IF_ERROR(RecomputeMaster(db, station, form).status());
    }
    return Status::Ok();
  });
}

}  // namespace vigil::syncd
