// Reading a whole file, as tests and benchmarks check what a process wrote; and one value of
// a device store's meta table, read with SQLite directly (not through the client).
#pragma once

#include <filesystem>
#include <string>

namespace vigil::test_support {

// The bytes of the file at `path`; empty when it does not exist or cannot be read.
std::string ReadFile(const std::filesystem::path& path);

// The `value` of `key` in the meta table of the SQLite file at `db_path`; empty when the
// file, the table or the key is missing.
std::string StoreMetaValue(const std::string& db_path, const std::string& key);

}  // namespace vigil::test_support
