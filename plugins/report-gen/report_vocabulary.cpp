#include "plugins/report-gen/report_vocabulary.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "plugins/ml/metrics/text_tokenizer.h"

namespace radflow::report_gen {
namespace {

bool is_punctuation(const std::string& token) {
  if (token.size() != 1) return false;
  const auto c = static_cast<unsigned char>(token[0]);
  return c < 0x80 && !std::isalnum(c);
}

}  // namespace

ReportVocabulary ReportVocabulary::build(const std::vector<std::string>& reports, int min_count) {
  std::map<std::string, int64_t> counts;
  for (const std::string& report : reports) {
    for (std::string& token : ml::metrics::tokenize(report)) ++counts[std::move(token)];
  }
  std::vector<std::pair<std::string, int64_t>> words(counts.begin(), counts.end());
  std::stable_sort(words.begin(), words.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  ReportVocabulary vocab;
  vocab.min_count_ = min_count;
  vocab.tokens_ = {"<pad>", "<bos>", "<eos>", "<unk>"};
  vocab.counts_ = {0, 0, 0, 0};
  for (auto& [word, count] : words) {
    if (count < min_count) continue;
    vocab.tokens_.push_back(word);
    vocab.counts_.push_back(count);
  }
  for (size_t i = 0; i < vocab.tokens_.size(); ++i) vocab.ids_[vocab.tokens_[i]] = static_cast<int64_t>(i);
  return vocab;
}

int64_t ReportVocabulary::id(const std::string& token) const {
  auto it = ids_.find(token);
  return it == ids_.end() || it->second < kSpecialCount ? kUnk : it->second;
}

std::vector<int64_t> ReportVocabulary::encode(const std::string& report, size_t max_length) const {
  std::vector<int64_t> ids = {kBos};
  for (const std::string& token : ml::metrics::tokenize(report)) ids.push_back(id(token));
  ids.push_back(kEos);
  if (ids.size() > max_length) ids.resize(max_length);
  return ids;
}

std::string ReportVocabulary::decode(const std::vector<int64_t>& ids) const {
  std::string text;
  for (int64_t id : ids) {
    if (id == kEos) break;
    if (id < kSpecialCount || id >= size()) continue;
    const std::string& word = tokens_[static_cast<size_t>(id)];
    if (!text.empty() && !is_punctuation(word)) text += ' ';
    text += word;
  }
  return text;
}

nlohmann::json ReportVocabulary::to_json() const {
  return {{"min_count", min_count_}, {"size", size()}, {"tokens", tokens_}, {"counts", counts_}};
}

}  // namespace radflow::report_gen
