// The schema of the PostgreSQL store: the same tables, columns, keys and indexes as the newest
// SQLite schema (sqlite_schema.cc), in PostgreSQL's types. A new database gets it whole, in one
// transaction; its version is the row of table schema_version.
#pragma once

#include "store/sql.h"
#include "vigil/status.h"

namespace vigil::syncd {

// Creates the schema at kSchemaVersion on an empty database (a no-op when it is there), in one
// transaction; concurrent callers wait for each other. kUnimplemented when the database's
// schema is newer than this code (or an older one this code cannot migrate).
Status MigratePgSchema(sql::Connection& conn);

// The schema version of the database; 0 when it has no schema yet.
Result<int> PgSchemaVersion(sql::Connection& conn);

}  // namespace vigil::syncd
