#include "support/temp_dir.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <system_error>

namespace vigil::test_support {

TempDir::TempDir(std::string_view prefix, const std::filesystem::path& base) {
  std::error_code ec;
  std::filesystem::path parent = base.empty() ? std::filesystem::temp_directory_path(ec) : base;
  if (ec) parent = "/tmp";
  std::string pattern = (parent / (std::string(prefix) + "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    const std::string why = std::error_code(errno, std::generic_category()).message();
    std::fprintf(stderr, "TempDir: cannot create %s: %s\n", pattern.c_str(), why.c_str());
    std::abort();
  }
  path_ = std::filesystem::absolute(pattern).string();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::operator/(std::string_view name) const {
  return (std::filesystem::path(path_) / name).string();
}

}  // namespace vigil::test_support
