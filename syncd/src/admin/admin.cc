#include "admin/admin.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <set>
#include <sstream>

#include "vigil/protocol/crypto.h"
#include "vigil/protocol/form_rules.h"

namespace vigil::syncd {
namespace {

// Splits one CSV line; false when a quote is left open.
bool SplitCsvLine(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
    } else if (c == '"' && field.empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field.push_back(c);
    }
  }
  fields.push_back(std::move(field));
  return !quoted;
}

bool ParseDouble(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

std::string ValueText(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kBoolean:
      return value.boolean() ? "yes" : "no";
    case v1::Value::kInteger:
      return std::to_string(value.integer());
    case v1::Value::kDecimal: {
      std::ostringstream out;
      out << value.decimal();
      return out.str();
    }
    case v1::Value::kText:
      return value.text();
    case v1::Value::kChoices: {
      std::string out;
      for (const std::string& id : value.choices().ids()) out += (out.empty() ? "" : "|") + id;
      return out;
    }
    case v1::Value::kUnixMs:
      return std::to_string(value.unix_ms());
    case v1::Value::kLocation: {
      std::ostringstream out;
      out << value.location().latitude() << " " << value.location().longitude();
      return out.str();
    }
    default:
      return "";
  }
}

}  // namespace

Result<std::vector<v1::Station>> ParseStationsCsv(std::string_view text) {
  std::vector<v1::Station> stations;
  std::vector<std::string> errors;
  size_t bad_lines = 0;
  std::set<std::string> codes;
  std::vector<std::string> fields;
  size_t line_number = 0;
  size_t pos = 0;
  auto bad = [&](const std::string& message) {
    ++bad_lines;
    if (errors.size() < 20)
      errors.push_back("line " + std::to_string(line_number) + ": " + message);
  };
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_number == 1) {
      SplitCsvLine(line, fields);
      if (fields.size() < 6 || fields[0] != "code" || fields[1] != "name" ||
          fields[2] != "province" || fields[3] != "district" || fields[4] != "commune" ||
          fields[5] != "registered_voters") {
        return Status::InvalidArgument(
            "line 1: the header must be code,name,province,district,commune,registered_voters"
            "[,lat,lon]");
      }
      continue;
    }
    if (line.empty()) continue;
    if (!SplitCsvLine(line, fields)) {
      bad("unterminated quote");
      continue;
    }
    if (fields.size() != 6 && fields.size() != 8) {
      bad("expected 6 or 8 fields, found " + std::to_string(fields.size()));
      continue;
    }
    if (fields[0].empty() || fields[0].size() > 64) {
      bad("station code is empty or longer than 64");
      continue;
    }
    if (fields[1].empty()) {
      bad("station name is empty");
      continue;
    }
    uint32_t voters = 0;
    auto [ptr, ec] = std::from_chars(fields[5].data(), fields[5].data() + fields[5].size(), voters);
    if (ec != std::errc() || ptr != fields[5].data() + fields[5].size() || fields[5].empty() ||
        voters > 1'000'000) {
      bad("registered_voters is not a whole number up to 1000000: '" + fields[5] + "'");
      continue;
    }
    // Protobuf cannot carry invalid UTF-8: one such station would break every device's
    // enrollment and pull (found by the stations_csv fuzz target).
    bool text_ok = true;
    const char* names[] = {"code", "name", "province", "district", "commune"};
    for (int f = 0; f < 5 && text_ok; ++f) {
      Status s = protocol::CheckText(fields[f], names[f], 200);
      if (!s.ok()) {
        bad(s.message());
        text_ok = false;
      }
    }
    if (!text_ok) continue;
    if (!codes.insert(fields[0]).second) {
      bad("station code " + fields[0] + " appears twice");
      continue;
    }
    v1::Station station;
    station.set_code(fields[0]);
    station.set_name(fields[1]);
    station.set_province(fields[2]);
    station.set_district(fields[3]);
    station.set_commune(fields[4]);
    station.set_registered_voters(voters);
    if (fields.size() == 8 && !(fields[6].empty() && fields[7].empty())) {
      double lat = 0;
      double lon = 0;
      if (!ParseDouble(fields[6], lat) || !ParseDouble(fields[7], lon) || std::abs(lat) > 90 ||
          std::abs(lon) > 180) {
        bad("lat/lon are not a valid position");
        continue;
      }
      station.mutable_location()->set_latitude(lat);
      station.mutable_location()->set_longitude(lon);
    }
    if (stations.size() >= kMaxStationsPerImport) {
      return Status::ResourceExhausted("more than " + std::to_string(kMaxStationsPerImport) +
                                       " stations in one file");
    }
    stations.push_back(std::move(station));
  }
  if (line_number == 0) return Status::InvalidArgument("the file is empty");
  if (bad_lines > 0) {
    std::string message = std::to_string(bad_lines) + " bad line(s); nothing imported:";
    for (const std::string& e : errors) message += "\n  " + e;
    if (bad_lines > errors.size()) message += "\n  …";
    return Status::InvalidArgument(message);
  }
  return stations;
}

Result<std::vector<ObserverEntry>> ParseObserversCsv(std::string_view text) {
  std::vector<ObserverEntry> out;
  std::vector<std::string> errors;
  size_t bad_lines = 0;
  std::set<std::string> ids;
  std::vector<std::string> fields;
  size_t line_number = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto bad = [&](const std::string& message) {
      ++bad_lines;
      if (errors.size() < 20)
        errors.push_back("line " + std::to_string(line_number) + ": " + message);
    };
    if (line_number == 1) {
      SplitCsvLine(line, fields);
      if (fields.size() != 4 || fields[0] != "id" || fields[1] != "name" || fields[2] != "phone" ||
          fields[3] != "stations") {
        return Status::InvalidArgument("line 1: the header must be id,name,phone,stations");
      }
      continue;
    }
    if (line.empty()) continue;
    if (!SplitCsvLine(line, fields) || fields.size() != 4) {
      bad("expected 4 fields: id,name,phone,stations");
      continue;
    }
    if (fields[0].empty() || fields[0].size() > 64 || fields[1].empty()) {
      bad("the id (1-64 characters) and the name are required");
      continue;
    }
    if (!protocol::CheckText(fields[0], "id", 64).ok() ||
        !protocol::CheckText(fields[1], "name", 200).ok() ||
        !protocol::CheckText(fields[2], "phone", 64).ok()) {
      bad("id, name and phone must be valid UTF-8 (at most 64, 200 and 64 characters)");
      continue;
    }
    if (!ids.insert(fields[0]).second) {
      bad("observer " + fields[0] + " appears twice");
      continue;
    }
    ObserverEntry entry{fields[0], fields[1], fields[2], {}};
    std::string codes = fields[3];
    std::replace(codes.begin(), codes.end(), ';', ' ');
    std::istringstream in(codes);
    for (std::string code; in >> code;) entry.station_codes.push_back(code);
    out.push_back(std::move(entry));
    if (out.size() > kMaxObserversPerImport) {
      return Status::ResourceExhausted("more than 2,000,000 observers in one import");
    }
  }
  if (bad_lines > 0) {
    std::string message = std::to_string(bad_lines) + " bad line(s); nothing imported:";
    for (const std::string& e : errors) message += "\n  " + e;
    if (bad_lines > errors.size()) message += "\n  …";
    return Status::InvalidArgument(message);
  }
  return out;
}

Result<v1::FormDefinition> ParseFormJson(const std::string& json) {
  v1::FormDefinition form;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, &form, options);
  if (!status.ok()) {
    return Status::InvalidArgument("not a FormDefinition in JSON: " + status.ToString());
  }
  // The very rules every device applies on import: a form syncd accepted but devices
  // refused would break every device's enrollment.
  VIGIL_RETURN_IF_ERROR(protocol::Form::Compile(form).status());
  return form;
}

Result<int64_t> ParseDuration(std::string_view text) {
  if (text.size() < 2) return Status::InvalidArgument("duration like 90s, 30m, 24h or 7d");
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || ptr != text.data() + text.size() - 1 || n <= 0) {
    return Status::InvalidArgument("duration like 90s, 30m, 24h or 7d: '" + std::string(text) +
                                   "'");
  }
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1000;
      break;
    case 'm':
      unit = 60'000;
      break;
    case 'h':
      unit = 3'600'000;
      break;
    case 'd':
      unit = 86'400'000;
      break;
    default:
      return Status::InvalidArgument("duration unit must be s, m, h or d");
  }
  if (n > 365 * 86'400'000LL / unit) return Status::InvalidArgument("duration over 365 days");
  return n * unit;
}

std::string MakeEnrollmentPayload(const std::string& server_url, const std::string& tls_pin,
                                  const std::string& code) {
  v1::EnrollmentPayload payload;
  payload.set_server_url(server_url);
  payload.set_tls_pin(tls_pin);
  payload.set_code(code);
  return protocol::Base64UrlEncode(payload.SerializeAsString());
}

std::string MakeEnrollmentPayload(const std::vector<std::string>& server_urls,
                                  const std::string& tls_pin, const std::string& code) {
  v1::EnrollmentPayload payload;
  if (!server_urls.empty()) payload.set_server_url(server_urls.front());
  for (const std::string& url : server_urls) payload.add_server_urls(url);
  payload.set_tls_pin(tls_pin);
  payload.set_code(code);
  return protocol::Base64UrlEncode(payload.SerializeAsString());
}

std::string CsvCell(const std::string& value) {
  std::string cell = value;
  if (!cell.empty() && std::string_view("=+-@\t\r").find(cell[0]) != std::string_view::npos) {
    cell.insert(0, "'");
  }
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

Status WriteSubmissionsCsv(AdminStore& store, std::ostream& out) {
  out << "submission_id,form_id,form_version,station_code,observer_id,device_id,batch_seq,"
         "received_at_ms,answers\n";
  return store.ForEachSubmission([&](const SubmissionRow& row) {
    const v1::Submission& s = row.submission;
    std::string answers;
    for (const v1::Answer& a : s.answers()) {
      if (!answers.empty()) answers += ";";
      answers += a.question_id() + "=" + ValueText(a.value());
    }
    out << CsvCell(s.submission_id()) << "," << CsvCell(s.form_id()) << "," << s.form_version()
        << "," << CsvCell(s.station_code()) << "," << CsvCell(s.observer_id()) << ","
        << CsvCell(row.device_id) << "," << row.batch_seq << "," << row.received_at_ms << ","
        << CsvCell(answers) << "\n";
  });
}

std::string StatsText(const v1::ServerStats& s) {
  std::ostringstream out;
  out << "server_id: " << s.server_id() << "\n"
      << "stations: " << s.stations() << "\n"
      << "observers: " << s.observers() << "\n"
      << "forms: " << s.forms() << "\n"
      << "devices: " << s.devices() << " (active " << s.active_devices() << ", revoked "
      << s.revoked_devices() << ")\n"
      << "batches: " << s.batches() << "\n"
      << "submissions: " << s.submissions() << "\n"
      << "incidents: " << s.incidents() << "\n"
      << "equivocations: " << s.equivocations() << "\n"
      << "quarantined: " << s.quarantined() << " (held, not counted above)\n"
      << "rejections:" << (s.rejections_size() == 0 ? " none" : "") << "\n";
  for (const v1::RejectionCount& r : s.rejections()) {
    out << "  " << r.reason() << ": " << r.count() << "\n";
  }
  return out.str();
}

Result<std::string> ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) return Status::Internal("JSON: " + status.ToString());
  return json;
}

std::string FormatUtc(int64_t ms, const char* format) {
  const auto seconds = static_cast<std::time_t>(ms / 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[64];
  const size_t n = std::strftime(text, sizeof text, format, &parts);
  return std::string(text, n);
}

}  // namespace vigil::syncd
