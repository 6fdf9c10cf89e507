#include "merge/value_text.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace vigil::syncd::merge {
namespace {

bool ToInt(const std::string& text, int64_t& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end != text.c_str() + text.size()) return false;
  out = v;
  return true;
}

bool ToDouble(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

}  // namespace

Result<v1::Value> ValueFromText(const v1::Question& question, const std::string& text) {
  v1::Value value;
  auto bad = [&](const char* expected) {
    return Status::InvalidArgument("question " + question.id() + " takes " + expected + ", not '" +
                                   text + "'");
  };
  switch (question.type()) {
    case v1::YES_NO:
      if (text == "yes" || text == "true") {
        value.set_boolean(true);
      } else if (text == "no" || text == "false") {
        value.set_boolean(false);
      } else {
        return bad("yes or no");
      }
      break;
    case v1::INTEGER: {
      int64_t v = 0;
      if (!ToInt(text, v)) return bad("an integer");
      value.set_integer(v);
      break;
    }
    case v1::DECIMAL: {
      double v = 0;
      if (!ToDouble(text, v)) return bad("a number");
      value.set_decimal(v);
      break;
    }
    case v1::SELECT_MANY: {
      size_t pos = 0;
      while (pos <= text.size()) {
        size_t end = text.find_first_of(",|", pos);
        if (end == std::string::npos) end = text.size();
        if (end > pos) value.mutable_choices()->add_ids(text.substr(pos, end - pos));
        pos = end + 1;
      }
      if (!value.has_choices()) value.mutable_choices();
      break;
    }
    case v1::DATE_TIME: {
      int64_t v = 0;
      if (!ToInt(text, v)) return bad("Unix milliseconds");
      value.set_unix_ms(v);
      break;
    }
    case v1::LOCATION: {
      size_t space = text.find(' ');
      double lat = 0, lon = 0;
      if (space == std::string::npos || !ToDouble(text.substr(0, space), lat) ||
          !ToDouble(text.substr(space + 1), lon)) {
        return bad("\"LAT LON\"");
      }
      value.mutable_location()->set_latitude(lat);
      value.mutable_location()->set_longitude(lon);
      break;
    }
    default:
      value.set_text(text);
      break;
  }
  return value;
}

}  // namespace vigil::syncd::merge
