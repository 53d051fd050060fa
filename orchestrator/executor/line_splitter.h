// LineSplitter: cuts the byte stream of one pipe (a worker's stdout, stderr or
// events channel) into lines, in bounded memory. Of a line longer than
// max_line_bytes only the head is kept (max_line_bytes plus a few bytes, enough to
// cut it at a code point boundary later); the rest up to the newline is counted and
// dropped. An over-long line therefore comes back once, marked truncated, and never
// as fragments that would read as lines of their own.
//
// Not thread-safe: one monitor thread owns each splitter.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace radflow {

struct SplitLine {
  std::string head;       // the line without its newline; all of it unless truncated
  size_t size_bytes = 0;  // the whole line's length
  bool truncated() const { return size_bytes > head.size(); }
};

class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Appends `bytes`; returns the lines they complete, in order.
  std::vector<SplitLine> append(std::string_view bytes);
  // End of the stream: the last line if it had no newline.
  std::optional<SplitLine> finish();

 private:
  size_t max_line_bytes_;
  SplitLine pending_;
};

// A line as text for the logs: valid UTF-8 (ill-formed bytes become U+FFFD) of at
// most max_bytes. A truncated line, or one that grew past max_bytes in the repair, is
// cut at a code point boundary and ends in " [line truncated: N bytes]", N being the
// original line's length.
std::string line_text(const SplitLine& line, size_t max_bytes);

}  // namespace radflow
