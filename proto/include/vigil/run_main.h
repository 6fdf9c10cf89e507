// A program's main(): runs the command line and gives an exception that nothing else caught a
// last word and exit status 1, instead of std::terminate's abort.
#pragma once

#include <cstdio>
#include <exception>

namespace vigil {

// Returns what `body` returns, or 1 after printing "<program>: stopped by an unexpected
// error: <what>" to standard error.
template <typename Body>
int RunMain(const char* program, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: stopped by an unexpected error: %s\n", program, e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: stopped by an unexpected error\n", program);
  }
  return 1;
}

}  // namespace vigil
