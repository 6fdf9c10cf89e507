// The device store's file, its schema and its migrations.
//
// PRAGMA user_version holds the schema version. Opening a store runs every migration above
// its version, each in its own transaction, so a store written by an older build upgrades in
// place; a store written by a newer build (version > kLatestSchema) is refused, never touched.
#pragma once

#include <memory>
#include <string>

#include "vigil/sqlite/db.h"

namespace vigil::client::store {

inline constexpr int kLatestSchema = 3;

// Opens (creating if asked) the store file at `path` the device's way (vigil/sqlite/db.h):
// WAL, a 5 s busy timeout, secure_delete; synchronous=FULL when `durable`, else NORMAL (no
// flush per commit: load simulation only). A missing file with `create` false is NotFound.
Result<std::unique_ptr<sqlite::Db>> OpenStore(const std::string& path, bool create,
                                              bool durable = true);

// Brings `db` to `target` (default: the latest). Refuses a store newer than this build.
Status Migrate(sqlite::Db& db, int target = kLatestSchema);

// The store's schema version (0 for an empty file).
Result<int> SchemaVersion(sqlite::Db& db);

}  // namespace vigil::client::store
