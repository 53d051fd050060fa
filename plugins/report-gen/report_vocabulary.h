// ReportVocabulary: the word-level vocabulary of the report decoder, built from the
// training split's reports. Tokens are metrics::tokenize's (lowercase words and
// one-character punctuation tokens), so decoded text re-tokenizes to the same tokens
// and BLEU/ROUGE see exactly what the decoder produced.
//
// Ids 0..3 are the specials <pad>, <bos>, <eos>, <unk>; then words by descending
// training count (ties alphabetical), keeping those seen at least `min_count` times.
// Immutable after build; const methods are thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace radflow::report_gen {

class ReportVocabulary {
 public:
  static constexpr int64_t kPad = 0, kBos = 1, kEos = 2, kUnk = 3, kSpecialCount = 4;

  static ReportVocabulary build(const std::vector<std::string>& reports, int min_count);

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::string& token(int64_t id) const { return tokens_.at(static_cast<size_t>(id)); }
  int64_t id(const std::string& token) const;  // kUnk when unknown

  // <bos> w1 .. wn <eos>, truncated to at most `max_length` ids (the <eos> is then
  // dropped: the decoder learns to continue, as the report did).
  std::vector<int64_t> encode(const std::string& report, size_t max_length) const;
  // Words joined by spaces, punctuation glued to the word before ("normal ."
  // -> "normal."); stops at <eos>, skips other specials.
  std::string decode(const std::vector<int64_t>& ids) const;

  // {"min_count", "size", "tokens": [...], "counts": [...]}.
  nlohmann::json to_json() const;

 private:
  std::vector<std::string> tokens_;
  std::vector<int64_t> counts_;
  std::unordered_map<std::string, int64_t> ids_;
  int min_count_ = 1;
};

}  // namespace radflow::report_gen
