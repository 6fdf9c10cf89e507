// The national coverage query's cost, for ingest_bench (`scripts/bench ingest`).
#pragma once

#include <filesystem>

namespace bench {

// Median milliseconds of `syncd admin coverage` (all three checklist forms, nation row
// included) over a store of `stations` stations.
struct CoverageTimes {
  double by_province_ms = 0;  // wall
  double by_province_cpu_ms = 0;
  double by_commune_ms = 0;
  double by_commune_cpu_ms = 0;
};

CoverageTimes NationalCoverage(const std::filesystem::path& dir,
                               const std::filesystem::path& forms_dir, int stations);

}  // namespace bench
