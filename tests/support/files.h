// Reading a whole file, as tests and benchmarks check what a process wrote.
#pragma once

#include <filesystem>
#include <string>

namespace vigil::test_support {

// The bytes of the file at `path`; empty when it does not exist or cannot be read.
std::string ReadFile(const std::filesystem::path& path);

}  // namespace vigil::test_support
