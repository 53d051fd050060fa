// tokenize(): the word tokenizer used for BLEU-4 and ROUGE-L on generated reports.
//
// Rules, applied to UTF-8 text:
//  - ASCII letters are lowercased; bytes >= 0x80 (non-ASCII UTF-8) count as letters
//    and are kept unchanged, so accented words stay whole.
//  - A token is a maximal run of letters and digits.
//  - Whitespace separates tokens and is dropped.
//  - Every other ASCII character (punctuation: . , ; : ' " ( ) - / % ...) is, with
//    PunctuationMode::kKeep, a one-character token of its own (as sacrebleu's 13a and
//    nltk's word_tokenize keep sentence punctuation), and with kDrop a separator that
//    is dropped (as the rouge-score package's tokenizer does).
// So "Heart size is normal. No 3.5-cm nodule!" is, with kKeep,
//   heart size is normal . no 3 . 5 - cm nodule !
// The report-gen decoder predicts "." as a token, which is why kKeep is the default
// for BLEU; use kDrop for rouge-score-compatible ROUGE-L.
// Pure function, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace radflow::ml::metrics {

enum class PunctuationMode { kKeep, kDrop };

std::vector<std::string> tokenize(std::string_view text,
                                  PunctuationMode punctuation = PunctuationMode::kKeep);

}  // namespace radflow::ml::metrics
