#include "common/utf8.h"

#include <cstdint>

namespace radflow {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed sequence starting at text[i], or 0 when the bytes
// there are ill-formed. `*bad_length` receives how many bytes the maximal
// ill-formed subpart spans: the lead byte and the continuation bytes that were
// valid before the sequence broke off (at least 1).
size_t sequence_length(std::string_view text, size_t i, size_t* bad_length) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t lead = byte(i);
  *bad_length = 1;
  if (lead < 0x80) return 1;
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the first continuation byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  for (size_t k = 1; k < need; ++k) {
    if (i + k >= text.size()) return 0;
    const uint8_t b = byte(i + k);
    const uint8_t min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) return 0;
    *bad_length = k + 1;
  }
  return need;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  size_t bad = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t n = sequence_length(text, i, &bad);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string to_valid_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  size_t bad = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t n = sequence_length(text, i, &bad);
    if (n == 0) {
      out += kReplacement;
      // The maximal ill-formed subpart: a valid prefix that was cut short is
      // replaced as one unit; a lone bad byte as one.
      i += bad;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

std::string truncate_utf8(std::string_view text, size_t max_bytes, std::string_view marker) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t keep = max_bytes > marker.size() ? max_bytes - marker.size() : 0;
  // Back up over continuation bytes so the cut never splits a code point.
  while (keep > 0 && keep < text.size() &&
         (static_cast<uint8_t>(text[keep]) & 0xC0) == 0x80) {
    --keep;
  }
  std::string out(text.substr(0, keep));
  if (marker.size() <= max_bytes) out.append(marker);
  return out;
}

}  // namespace radflow
