// A temporary directory for tests and benchmarks, removed with its content when the guard dies.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace vigil::test_support {

// A fresh directory "<base>/<prefix>XXXXXX" (mkdtemp), removed recursively on destruction.
// Aborts with a message on stderr when it cannot be made: nothing can run without it.
class TempDir {
 public:
  // `base` empty: the system's temporary directory (TMPDIR, else /tmp).
  explicit TempDir(std::string_view prefix = "vigil-test-", const std::filesystem::path& base = {});
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The directory's absolute path.
  const std::string& path() const { return path_; }
  // The path of `name` inside the directory.
  std::string operator/(std::string_view name) const;

 private:
  std::string path_;
};

}  // namespace vigil::test_support
