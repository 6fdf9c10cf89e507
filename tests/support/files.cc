#include "support/files.h"

#include <fstream>
#include <iterator>

namespace vigil::test_support {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace vigil::test_support
