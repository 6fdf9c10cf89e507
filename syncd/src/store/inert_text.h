// Text from outside (alert details, coordinator names) on its way to people: the dashboard,
// `syncd admin` output, the request log and CSV files (docs/security.md, "The coordinators'
// dashboard").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil::syncd {

// `text` made inert for display, cut to at most `max_bytes` bytes on a character boundary:
//  - bytes that are not strict UTF-8, C0 controls (newline, tab, escape, …) and DEL become
//    "\xNN" (two lower-case hex digits);
//  - C1 controls (U+0080–U+009F), the line and paragraph separators (U+2028, U+2029) and the
//    bidirectional controls (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) become "\u{NNNN}".
// Everything else, including spaces and backslashes, is kept as it is. The result is strict
// UTF-8 with no line break, so it cannot start a new log line or CSV row, nor reorder what a
// person reads around it.
std::string InertText(std::string_view text, size_t max_bytes);

// Whether InertText would keep `text` as it is (up to any length).
bool IsInertText(std::string_view text);

}  // namespace vigil::syncd
