// The pure parts of `syncd admin quarantine` and `syncd admin alerts`: their answers printed
// for people. JSON output is the messages of dashboard.proto through ToJson (admin.h).
#pragma once

#include <string>

#include "vigil/v1/dashboard.pb.h"

namespace vigil::syncd {

// One block per held (or released) record: id, station, form, device, enrolled and claimed
// observer, received time, reason, and the release when there was one.
std::string QuarantineText(const v1::QuarantinePage& page);

// One line per alert, newest first: last time, kind, count, device, detail.
std::string AlertsText(const v1::AlertPage& page);

}  // namespace vigil::syncd
