// Text safety for strings that came from outside radflow: plugin output, files,
// request bodies. Everything radflow stores or serves is valid UTF-8, so that no
// JSON dump can throw and no client receives bytes it cannot decode.
//
// Pure functions; safe to call from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace radflow {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `text` with every ill-formed sequence replaced by U+FFFD (one replacement per
// maximal ill-formed subpart, as the Unicode standard recommends). Valid input
// comes back unchanged.
std::string to_valid_utf8(std::string_view text);

// At most `max_bytes` of `text`, cut at a code point boundary (never inside a
// multi-byte sequence). When text is cut, `marker` is appended (and counted
// in max_bytes).
std::string truncate_utf8(std::string_view text, size_t max_bytes,
                          std::string_view marker = " [truncated]");

}  // namespace radflow
