#include "store/inert_text.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <utility>

namespace vigil::syncd {
namespace {

// The code point starting at `text[i]` and its length in bytes; length 0 when the bytes
// there are not strict UTF-8 (RFC 3629: no overlong forms, no surrogates, ≤ U+10FFFF).
std::pair<uint32_t, size_t> DecodeAt(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return {lead, 1};
  size_t length = 0;
  uint32_t min = 0;
  uint32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, min = 0x80, cp = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, min = 0x800, cp = lead & 0x0Fu;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, min = 0x10000, cp = lead & 0x07u;
  } else {
    return {0, 0};
  }
  if (i + length > text.size()) return {0, 0};
  for (size_t k = 1; k < length; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return {0, 0};
    cp = (cp << 6) | (byte(k) & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
  return {cp, length};
}

// Code points shown escaped although they are valid UTF-8 (see the header).
bool NeedsEscape(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string InertText(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  for (size_t i = 0; i < text.size();) {
    auto [cp, length] = DecodeAt(text, i);
    char piece[16];
    size_t piece_length = 0;
    if (length == 0 || cp < 0x20 || cp == 0x7F) {
      piece_length = static_cast<size_t>(
          std::snprintf(piece, sizeof piece, "\\x%02x", static_cast<unsigned char>(text[i])));
      length = 1;
    } else if (NeedsEscape(cp)) {
      piece_length = static_cast<size_t>(std::snprintf(piece, sizeof piece, "\\u{%04x}", cp));
    }
    const std::string_view kept =
        piece_length > 0 ? std::string_view(piece, piece_length) : text.substr(i, length);
    if (out.size() + kept.size() > max_bytes) break;
    out.append(kept);
    i += length;
  }
  return out;
}

bool IsInertText(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    auto [cp, length] = DecodeAt(text, i);
    if (length == 0 || NeedsEscape(cp)) return false;
    i += length;
  }
  return true;
}

}  // namespace vigil::syncd
