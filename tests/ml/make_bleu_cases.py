#!/usr/bin/python3
"""Reference values for tests/ml/bleu_test.cpp (CorpusBleu4.MatchesNltk*).

Runs nltk.translate.bleu_score.corpus_bleu (default weights (0.25,)*4, no smoothing:
SmoothingFunction().method0, auto_reweigh False) on the corpora below and prints them
as C++ initialisers to paste into the test. The test holds the values as data and does
not need nltk. Debian: apt-get install python3-nltk; run with /usr/bin/python3.
Tokens are space-separated words (the C++ side splits the same strings on spaces).
"""
import sys
import warnings

import nltk
from nltk.translate.bleu_score import corpus_bleu

CASES = [
    ("two_long", [("the heart is normal in size and the lungs are clear",
                   "the heart size is normal and the lungs are clear"),
                  ("no pleural effusion or pneumothorax is seen",
                   "there is no pleural effusion or pneumothorax")]),
    ("short_and_empty_hypotheses", [("the heart is normal in size and the lungs are clear",
                                     "the heart size is normal and the lungs are clear"),
                                    ("no effusion", "no pleural effusion"),
                                    ("clear", "lungs are clear"),
                                    ("", "no pneumothorax"),
                                    ("heart size normal", "heart size is normal")]),
    ("only_short_hypotheses", [("no effusion", "no pleural effusion"),
                               ("lungs clear", "lungs are clear"),
                               ("heart normal", "heart is normal")]),
    ("empty_hypothesis_only", [("", "no acute findings")]),
    ("no_unigram_match", [("alpha beta gamma delta", "one two three four")]),
    ("no_fourgram_match", [("the cat is on the mat", "the cat sat on the mat")]),
]


def main():
    warnings.simplefilter("ignore")  # method0 warns about zero n-gram counts
    print("// nltk %s, python %s" % (nltk.__version__, sys.version.split()[0]))
    for name, pairs in CASES:
        hyps = [h.split() for h, _ in pairs]
        refs = [[r.split()] for _, r in pairs]
        value = corpus_bleu(refs, hyps)
        body = ", ".join('{"%s", "%s"}' % (h, r) for h, r in pairs)
        print('    {"%s", {%s}, %r},' % (name, body, float(value)))


if __name__ == "__main__":
    main()
