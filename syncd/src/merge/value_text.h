// A value typed by a coordinator (e.g. in `syncd admin override`) as the Value its question
// takes. Pure.
#pragma once

#include <string>

#include "vigil/status.h"
#include "vigil/v1/forms.pb.h"

namespace vigil::syncd::merge {

// YES_NO: yes/no/true/false; INTEGER; DECIMAL; SELECT_ONE, TEXT, TIME, PHOTO_REFERENCE: the
// text; SELECT_MANY: option ids separated by ',' or '|'; DATE_TIME: Unix milliseconds;
// LOCATION: "LAT LON". InvalidArgument naming the question when the text does not parse.
// Bounds and options are checked by protocol::Form::CheckAnswer, not here.
Result<v1::Value> ValueFromText(const v1::Question& question, const std::string& text);

}  // namespace vigil::syncd::merge
