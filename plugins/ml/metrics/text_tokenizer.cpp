#include "plugins/ml/metrics/text_tokenizer.h"

namespace radflow::ml::metrics {
namespace {

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

bool is_space_byte(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::vector<std::string> tokenize(std::string_view text, PunctuationMode punctuation) {
  std::vector<std::string> tokens;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) tokens.push_back(std::move(word));
    word.clear();
  };
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_word_byte(c)) {
      word.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : ch);
      continue;
    }
    flush();
    if (is_space_byte(c) || punctuation == PunctuationMode::kDrop) continue;
    if (c < 0x20 || c == 0x7f) continue;  // other control characters carry no words
    tokens.emplace_back(1, ch);
  }
  flush();
  return tokens;
}

}  // namespace radflow::ml::metrics
