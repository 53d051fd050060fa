#include "orchestrator/executor/line_splitter.h"

#include <algorithm>

#include "common/utf8.h"

namespace radflow {
namespace {

// Past max_line_bytes, a UTF-8 sequence started at the limit can need 3 more bytes;
// keeping them lets line_text() cut at a boundary without guessing.
constexpr size_t kHeadSlackBytes = 4;

}  // namespace

std::vector<SplitLine> LineSplitter::append(std::string_view bytes) {
  std::vector<SplitLine> lines;
  const size_t keep = max_line_bytes_ + kHeadSlackBytes;
  while (!bytes.empty()) {
    const size_t newline = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, newline);
    if (pending_.head.size() < keep) {
      pending_.head.append(piece.substr(0, keep - pending_.head.size()));
    }
    pending_.size_bytes += piece.size();
    if (newline == std::string_view::npos) break;
    lines.push_back(std::move(pending_));
    pending_ = SplitLine{};
    bytes.remove_prefix(newline + 1);
  }
  return lines;
}

std::optional<SplitLine> LineSplitter::finish() {
  if (pending_.size_bytes == 0) return std::nullopt;
  SplitLine last = std::move(pending_);
  pending_ = SplitLine{};
  return last;
}

std::string line_text(const SplitLine& line, size_t max_bytes) {
  std::string text = to_valid_utf8(line.head);
  if (!line.truncated() && line.head.size() <= max_bytes && text.size() <= max_bytes) {
    return text;
  }
  return truncate_utf8(text, max_bytes,
                       " [line truncated: " + std::to_string(line.size_bytes) + " bytes]");
}

}  // namespace radflow
