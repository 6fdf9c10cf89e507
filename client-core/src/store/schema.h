// The device store's schema and its migrations.
//
// PRAGMA user_version holds the schema version. Opening a store runs every migration above
// its version, each in its own transaction, so a store written by an older build upgrades in
// place; a store written by a newer build (version > kLatestSchema) is refused, never touched.
#pragma once

#include "store/sqlite.h"

namespace vigil::client::store {

inline constexpr int kLatestSchema = 3;

// Brings `db` to `target` (default: the latest). Refuses a store newer than this build.
Status Migrate(Database& db, int target = kLatestSchema);

// The store's schema version (0 for an empty file).
Result<int> SchemaVersion(Database& db);

}  // namespace vigil::client::store
