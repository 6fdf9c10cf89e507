// Helpers for tests of the C API: strings it returns, and JSON checks on them.
#pragma once

#include <string>

#include "vigil/client.h"

namespace vigil::capi_test {

// A string returned by the C API, freed with vigil_free.
struct CStr {
  char* p;
  explicit CStr(char* s) : p(s) {}
  ~CStr() { vigil_free(p); }
  CStr(const CStr&) = delete;
  CStr& operator=(const CStr&) = delete;
  std::string str() const { return p != nullptr ? p : ""; }
  bool has(const std::string& needle) const { return str().find(needle) != std::string::npos; }
};

}  // namespace vigil::capi_test
