// `syncd admin` imports: stations CSV, observers CSV and durations (pure parsers). A station
// that parses is stored and sent to devices in assignments, so it must survive a protobuf
// round trip (proto3 refuses to parse strings that are not UTF-8): abort when it does not.
#include <cstdlib>

#include "admin/admin.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  std::string_view text = fuzz::AsText(data, size);
  Result<std::vector<v1::Station>> stations = syncd::ParseStationsCsv(text);
  if (stations.ok()) {
    for (const v1::Station& station : *stations) {
      v1::Station copy;
      if (!copy.ParseFromString(station.SerializeAsString())) std::abort();
    }
  }
  (void)syncd::ParseObserversCsv(text);
  (void)syncd::ParseDuration(text);
  return 0;
}
