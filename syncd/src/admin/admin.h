// The pure parts of `syncd admin`: parsing station CSV and form JSON, durations, the
// enrollment payload, and formatting stats and exports. No store access except where a
// store part is passed in.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "store/admin_store.h"
#include "vigil/status.h"
#include "vigil/v1/forms.pb.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::syncd {

// Most stations one import takes (India has about a million).
inline constexpr size_t kMaxStationsPerImport = 2'000'000;

// Parses "code,name,province,district,commune,registered_voters[,lat,lon]" with a header
// line. Fields may be double-quoted ("" is a quote). On any bad line, fails with
// InvalidArgument listing the bad lines by number (up to 20 of them) and imports nothing.
Result<std::vector<v1::Station>> ParseStationsCsv(std::string_view text);

// Most observers one import takes.
inline constexpr size_t kMaxObserversPerImport = 2'000'000;

// Parses "id,name,phone,stations" with a header line; stations are codes separated by ';'
// or spaces. All or nothing, bad lines listed by number as for stations.
Result<std::vector<ObserverEntry>> ParseObserversCsv(std::string_view text);

// A FormDefinition from protobuf's JSON mapping, checked with protocol::Form::Compile — the
// same rules every device applies when it imports the form.
Result<v1::FormDefinition> ParseFormJson(const std::string& json);

// "90s", "30m", "24h", "7d" in milliseconds; at most 365 days.
Result<int64_t> ParseDuration(std::string_view text);

// base64url of EnrollmentPayload{server_url, tls_pin, code}.
std::string MakeEnrollmentPayload(const std::string& server_url, const std::string& tls_pin,
                                  const std::string& code);
// The same for a deployment that lists its server URLs (admin/server_urls.h): server_urls
// holds `server_urls` and server_url the first of them, for devices that read only that.
std::string MakeEnrollmentPayload(const std::vector<std::string>& server_urls,
                                  const std::string& tls_pin, const std::string& code);

// One line per stored submission: submission_id, form_id, form_version, station_code,
// observer_id, device_id, batch_seq, received_at_ms, answers (question=value;…).
Status WriteSubmissionsCsv(AdminStore& store, std::ostream& out);

// One CSV cell: quoted when it holds a comma, quote or line break, and made inert in
// spreadsheets: a value starting with = + - @ tab or CR gets a leading ' (no formula runs).
// Every CSV export (command line and dashboard) writes its text cells through it.
std::string CsvCell(const std::string& value);

// Stats for people, one "name: value" per line.
std::string StatsText(const v1::ServerStats& stats);

// A message in protobuf's JSON mapping (field names as in the .proto, all fields printed).
Result<std::string> ToJson(const google::protobuf::Message& message);

// `ms` since the Unix epoch as UTC in strftime's `format`, e.g. "%Y-%m-%d %H:%M:%SZ".
std::string FormatUtc(int64_t ms, const char* format);

}  // namespace vigil::syncd
