// What the benchmarks print about the machine they ran on.
#pragma once

#include <fstream>
#include <string>

namespace vigil::bench {

// The CPU model as /proc/cpuinfo names it, or "unknown".
inline std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

}  // namespace vigil::bench
