// `syncd admin` imports: stations CSV, observers CSV and durations (pure parsers). A station
// that parses is stored and sent to devices in assignments, so it must survive a protobuf
// round trip (proto3 refuses to parse strings that are not UTF-8): abort when it does not.
#include <cstdlib>

#include "admin/admin.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = vigil::fuzz::AsText(data, size);
  vigil::Result<std::vector<vigil::v1::Station>> stations = vigil::syncd::ParseStationsCsv(text);
  if (stations.ok()) {
    for (const vigil::v1::Station& station : *stations) {
      vigil::v1::Station copy;
      if (!copy.ParseFromString(station.SerializeAsString())) std::abort();
    }
  }
  (void)vigil::syncd::ParseObserversCsv(text);
  (void)vigil::syncd::ParseDuration(text);
  return 0;
}
