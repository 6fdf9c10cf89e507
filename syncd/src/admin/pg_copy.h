// A consistent copy of a PostgreSQL store into a new SQLite store file: every table of the
// schema, row for row, read in one REPEATABLE READ transaction (one snapshot, taken while
// syncd nodes keep writing). `syncd admin verify` checks a PostgreSQL store on such a copy
// with the same code as a SQLite store's (admin/verify.h).
#pragma once

#include <string>

#include "vigil/status.h"

namespace vigil::syncd {

// Copies the store at `url` into a new SQLite store at `sqlite_path` (which must not exist).
// Fails naming the table when the two schemas differ.
Status CopyPostgresToSqlite(const std::string& url, const std::string& sqlite_path);

}  // namespace vigil::syncd
