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

// The 1, 5 and 15 minute load averages as /proc/loadavg gives them ("6.70 8.57 6.80").
inline std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unknown";
  return one + " " + five + " " + fifteen;
}

}  // namespace vigil::bench
