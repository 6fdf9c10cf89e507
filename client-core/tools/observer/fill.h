// `observer fill`: filling a checklist interactively, from a JSON answers file, or with
// example answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "vigil/client/client.h"

namespace vigil::observer {

// How answers are obtained.
struct FillOptions {
  std::string form_id;
  uint32_t version = 0;
  std::string station;
  std::string lang = "km";
  std::string answers_file;  // JSON object; "" = not used
  bool example = false;
  uint64_t seed = 0;                     // For --example; 0 = derived from the station code.
  std::optional<v1::GeoPoint> location;  // --location: where the device is.
};

// Fills, finalizes and returns the submission id. Interactive mode asks each relevant
// question in turn on standard error/standard input and re-asks after an invalid answer.
Result<std::string> Fill(client::Client& client, const FillOptions& options);

}  // namespace vigil::observer
