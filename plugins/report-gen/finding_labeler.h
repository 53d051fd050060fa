// FindingLabeler: a rule-based, NegEx-style labeler that reads a radiology report
// and says, for each finding of a dataset's finding vocabulary, whether the report
// asserts it (1) or not (0: negated or not mentioned). It stands in for CheXbert,
// which needs a pretrained model we cannot fetch offline, so the F1 built on it is a
// *proxy* for CheXbert F1 (raddino-method.md §4.3).
//
// Rules:
//  - Text is tokenized with metrics::tokenize (lowercase, punctuation kept), then cut
//    into sentences at ". ; ! ?" tokens ("." between two digits, as in "3.5", is not
//    a boundary).
//  - Each finding is matched by phrases: the label name with underscores as spaces,
//    the built-in synonyms for that name (e.g. cardiomegaly: "heart is enlarged"),
//    and any extra phrases the caller passes. Phrases match whole token sequences.
//  - A mention is negated when a negation cue ("no", "not", "without", "negative
//    for", "free of", "absence of", "resolved", ...) ends at most `window` tokens
//    before the phrase in the same sentence, with no scope terminator ("but",
//    "however", "although", "except") in between; or when a post-negation cue
//    ("resolved", "has resolved", "is not seen", "not seen", "absent") follows the
//    phrase within `window` tokens in the same sentence.
//  - A finding is 1 when at least one mention is not negated.
// Immutable after construction; label() is const and thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace radflow::report_gen {

using TokenSeq = std::vector<std::string>;

class FindingLabeler {
 public:
  // `findings`: label names (e.g. "pleural_effusion"). `extra_phrases`: more phrases
  // per finding (free text, tokenized like reports). `window`: NegEx scope in tokens.
  explicit FindingLabeler(std::vector<std::string> findings,
                          const std::map<std::string, std::vector<std::string>>& extra_phrases = {},
                          int window = 5);

  const std::vector<std::string>& findings() const { return findings_; }
  // Every phrase (as token sequences) that names `findings()[index]`.
  const std::vector<TokenSeq>& phrases(size_t index) const { return phrases_[index]; }

  // One 0/1 per finding, in findings() order.
  std::vector<int> label(const std::string& report) const;

  // Sentence split used by label(); exposed for tests.
  static std::vector<TokenSeq> sentences(const std::string& report);

 private:
  bool negated(const TokenSeq& sentence, size_t begin, size_t end) const;

  std::vector<std::string> findings_;
  std::vector<std::vector<TokenSeq>> phrases_;
  int window_;
};

// F1 of generated-report labels against reference-report labels.
struct FindingF1 {
  std::vector<double> per_finding;  // NaN where a finding is positive in neither side
  std::vector<long long> tp, fp, fn;
  double macro = 0.0;                 // mean over findings with a defined F1; NaN if none
  double micro = 0.0;                 // from pooled counts; NaN if nothing is positive
  int macro_count = 0;                // findings averaged into `macro`
};

// `generated[i]` and `reference[i]`: labels of sample i, one per finding.
// Precondition (checked): equal shapes.
FindingF1 finding_f1(const std::vector<std::vector<int>>& generated,
                     const std::vector<std::vector<int>>& reference, size_t finding_count);

}  // namespace radflow::report_gen
