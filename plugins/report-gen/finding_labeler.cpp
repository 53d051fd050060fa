#include "plugins/report-gen/finding_labeler.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "common/check.h"
#include "plugins/ml/metrics/text_tokenizer.h"

namespace radflow::report_gen {
namespace {

using ml::metrics::tokenize;

// Synonyms per concept; a concept applies to every label name listed in `names`.
// Kept small and explicit: chest X-ray findings (CheXpert's 14 plus synth-cxr's).
struct Concept {
  std::vector<const char*> names;
  std::vector<const char*> phrases;
};

const std::vector<Concept>& concepts() {
  static const std::vector<Concept> kConcepts = {
      {{"cardiomegaly", "enlarged_cardiomediastinum"},
       {"cardiomegaly", "heart is enlarged", "heart size is enlarged", "enlarged heart",
        "cardiac enlargement", "enlarged cardiac silhouette", "cardiac silhouette is enlarged",
        "heart size is increased"}},
      {{"effusion", "pleural_effusion"},
       {"effusion", "effusions", "pleural effusion", "pleural effusions",
        "blunting of the costophrenic angle"}},
      {{"pneumothorax", "ptx"}, {"pneumothorax", "pneumothoraces"}},
      {{"nodule", "nodules", "lung_nodule", "nodule_mass", "mass"},
       {"nodule", "nodules", "pulmonary nodule", "mass"}},
      {{"consolidation"}, {"consolidation", "consolidations", "airspace consolidation"}},
      {{"chest_tube", "support_devices"},
       {"chest tube", "chest tubes", "pleural drain", "chest drain"}},
      {{"atelectasis"}, {"atelectasis", "atelectatic"}},
      {{"edema", "pulmonary_edema"}, {"edema", "oedema", "pulmonary edema", "vascular congestion"}},
      {{"pneumonia"}, {"pneumonia", "pneumonic"}},
      {{"lung_opacity", "opacity"}, {"opacity", "opacities", "opacification"}},
      {{"fracture"}, {"fracture", "fractures"}},
      {{"lung_lesion", "lesion"}, {"lesion", "lesions"}},
  };
  return kConcepts;
}

// Pre-negation cues (NegEx "PREN"): they negate a phrase that follows.
const std::vector<TokenSeq>& pre_negations() {
  static const std::vector<TokenSeq> kCues = [] {
    std::vector<TokenSeq> cues;
    for (const char* cue : {"no", "not", "without", "negative for", "free of", "absence of",
                            "absent", "no evidence of", "resolved", "resolution of", "rather than",
                            "ruled out", "denies", "never"}) {
      cues.push_back(tokenize(cue));
    }
    return cues;
  }();
  return kCues;
}

// Post-negation cues (NegEx "POST"): they negate a phrase that precedes.
const std::vector<TokenSeq>& post_negations() {
  static const std::vector<TokenSeq> kCues = [] {
    std::vector<TokenSeq> cues;
    for (const char* cue : {"resolved", "has resolved", "is not seen", "not seen", "absent",
                            "is absent", "unlikely", "ruled out", "is not present"}) {
      cues.push_back(tokenize(cue));
    }
    return cues;
  }();
  return kCues;
}

bool is_terminator(const std::string& token) {
  return token == "but" || token == "however" || token == "although" || token == "except" ||
         token == "which" || token == "aside";
}

bool matches_at(const TokenSeq& text, size_t at, const TokenSeq& phrase) {
  if (phrase.empty() || at + phrase.size() > text.size()) return false;
  return std::equal(phrase.begin(), phrase.end(), text.begin() + static_cast<long>(at));
}

bool is_number(const std::string& token) {
  return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void add_phrase(std::vector<TokenSeq>& phrases, const std::string& text) {
  TokenSeq tokens = tokenize(text);
  if (!tokens.empty() && std::find(phrases.begin(), phrases.end(), tokens) == phrases.end()) {
    phrases.push_back(std::move(tokens));
  }
}

}  // namespace

FindingLabeler::FindingLabeler(std::vector<std::string> findings,
                               const std::map<std::string, std::vector<std::string>>& extra_phrases,
                               int window)
    : findings_(std::move(findings)), phrases_(findings_.size()), window_(window) {
  for (size_t f = 0; f < findings_.size(); ++f) {
    std::string name = findings_[f];
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
      return c == '_' ? ' ' : static_cast<char>(std::tolower(c));
    });
    add_phrase(phrases_[f], name);
    std::string key = findings_[f];
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) {
      return c == ' ' || c == '-' ? '_' : static_cast<char>(std::tolower(c));
    });
    for (const Concept& concept_entry : concepts()) {
      if (std::find(concept_entry.names.begin(), concept_entry.names.end(), key) == concept_entry.names.end()) continue;
      for (const char* phrase : concept_entry.phrases) add_phrase(phrases_[f], phrase);
    }
    auto extra = extra_phrases.find(findings_[f]);
    if (extra != extra_phrases.end()) {
      for (const std::string& phrase : extra->second) add_phrase(phrases_[f], phrase);
    }
  }
}

std::vector<TokenSeq> FindingLabeler::sentences(const std::string& report) {
  const TokenSeq tokens = tokenize(report);
  std::vector<TokenSeq> out(1);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    const bool decimal_point = t == "." && i > 0 && i + 1 < tokens.size() && is_number(tokens[i - 1]) &&
                               is_number(tokens[i + 1]);
    if ((t == "." || t == ";" || t == "!" || t == "?") && !decimal_point) {
      if (!out.back().empty()) out.emplace_back();
      continue;
    }
    out.back().push_back(t);
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

bool FindingLabeler::negated(const TokenSeq& sentence, size_t begin, size_t end) const {
  const size_t window = static_cast<size_t>(std::max(0, window_));
  // Pre-negation: a cue ending at `cue_end` <= begin, at most `window` tokens before.
  for (size_t cue_end = begin; cue_end + window >= begin && cue_end > 0; --cue_end) {
    if (cue_end < begin && is_terminator(sentence[cue_end])) break;
    for (const TokenSeq& cue : pre_negations()) {
      if (cue.size() <= cue_end && matches_at(sentence, cue_end - cue.size(), cue)) return true;
    }
  }
  // Post-negation: a cue starting within `window` tokens after the phrase.
  for (size_t cue_begin = end; cue_begin < sentence.size() && cue_begin <= end + window; ++cue_begin) {
    if (is_terminator(sentence[cue_begin])) break;
    for (const TokenSeq& cue : post_negations()) {
      if (matches_at(sentence, cue_begin, cue)) return true;
    }
  }
  return false;
}

std::vector<int> FindingLabeler::label(const std::string& report) const {
  std::vector<int> labels(findings_.size(), 0);
  const std::vector<TokenSeq> all = sentences(report);
  for (size_t f = 0; f < findings_.size(); ++f) {
    for (const TokenSeq& sentence : all) {
      for (size_t at = 0; at < sentence.size() && labels[f] == 0; ++at) {
        for (const TokenSeq& phrase : phrases_[f]) {
          if (matches_at(sentence, at, phrase) && !negated(sentence, at, at + phrase.size())) {
            labels[f] = 1;
            break;
          }
        }
      }
      if (labels[f] == 1) break;
    }
  }
  return labels;
}

FindingF1 finding_f1(const std::vector<std::vector<int>>& generated,
                     const std::vector<std::vector<int>>& reference, size_t finding_count) {
  RF_CHECK(generated.size() == reference.size(), "finding_f1: sample counts differ");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  FindingF1 out;
  out.tp.assign(finding_count, 0);
  out.fp.assign(finding_count, 0);
  out.fn.assign(finding_count, 0);
  for (size_t i = 0; i < generated.size(); ++i) {
    RF_CHECK(generated[i].size() == finding_count && reference[i].size() == finding_count,
             "finding_f1: label counts differ");
    for (size_t f = 0; f < finding_count; ++f) {
      const bool g = generated[i][f] != 0, r = reference[i][f] != 0;
      out.tp[f] += g && r;
      out.fp[f] += g && !r;
      out.fn[f] += !g && r;
    }
  }
  long long tp = 0, fp = 0, fn = 0;
  double sum = 0.0;
  for (size_t f = 0; f < finding_count; ++f) {
    const long long denominator = 2 * out.tp[f] + out.fp[f] + out.fn[f];
    out.per_finding.push_back(denominator == 0 ? nan : 2.0 * out.tp[f] / denominator);
    if (denominator > 0) {
      sum += out.per_finding.back();
      ++out.macro_count;
    }
    tp += out.tp[f];
    fp += out.fp[f];
    fn += out.fn[f];
  }
  out.macro = out.macro_count > 0 ? sum / out.macro_count : nan;
  out.micro = 2 * tp + fp + fn > 0 ? 2.0 * tp / (2 * tp + fp + fn) : nan;
  return out;
}

}  // namespace radflow::report_gen
