// Turning what people and scripts type into answers: text typed at a prompt, a JSON
// answers file, and deterministic example answers for training and load tests.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/protocol/form_rules.h"
#include "vigil/status.h"
#include "vigil/v1/forms.pb.h"

namespace vigil::client {

// Parses text typed for question `q`:
//   YES_NO        yes/no, y/n, true/false, 1/0 (also Khmer បាទ/ចាស/ទេ)
//   INTEGER       42            DECIMAL   4.5
//   SELECT_ONE    an option id or its 1-based number in the list
//   SELECT_MANY   ids or numbers separated by commas or spaces; "-" for no choice ("none" too,
//                 unless the question has an option whose id is none)
//   TEXT          the text      TIME      HH:MM
//   DATE_TIME     "now", milliseconds since 1970, or "YYYY-MM-DD HH:MM" (UTC)
//   LOCATION      "lat,lon" or "lat,lon,accuracy_m"
//   PHOTO_REFERENCE  "sha256:<hex>", or the path of a photo file (its SHA-256 is taken)
// The value is not yet checked against bounds and options beyond parsing; use
// protocol::Form::CheckAnswer (Client::SetAnswer does).
Result<v1::Value> ParseAnswerText(const v1::Question& q, std::string_view text);

// Parses "lat,lon" or "lat,lon,accuracy_m" (commas or spaces); bounds are checked where the
// location is stored (Client::SetLocation).
Result<v1::GeoPoint> ParseLocationText(std::string_view text);

// Parses a JSON object {question id: value} (JSON booleans, numbers, strings, arrays of
// option ids, {"latitude":…, "longitude":…}) into answers for `form`, in form order.
// Unknown question ids are refused by name.
Result<std::vector<std::pair<std::string, v1::Value>>> ParseAnswersJson(const protocol::Form& form,
                                                                        std::string_view json);

// The answers as the JSON object ParseAnswersJson reads: booleans, numbers (integers, decimals,
// DATE_TIME milliseconds), strings (text, a SELECT_ONE option id, TIME "HH:MM", photo
// references), arrays of option ids (SELECT_MANY), {"latitude", "longitude", "accuracy_m"}.
// ParseAnswersJson of its JSON gives back the same values (resuming a draft).
google::protobuf::Struct AnswersToStruct(
    const google::protobuf::RepeatedPtrField<v1::Answer>& answers);
std::string AnswersToJson(const google::protobuf::RepeatedPtrField<v1::Answer>& answers);

// A deterministic, valid example answer for every question (training mode, the demo and
// load tests). The same (form, seed) always gives the same answers; integers are chosen
// so that the form's QA checks hold where they can. Questions made irrelevant by earlier
// example answers are still listed: callers skip what does not apply.
std::vector<std::pair<std::string, v1::Value>> ExampleAnswers(const protocol::Form& form,
                                                              uint64_t seed);

}  // namespace vigil::client
