// The rule-based finding labeler: synonyms, NegEx-style negation inside a window and
// a sentence, scope terminators, and synth-cxr's report phrasings; and finding_f1.
#include <gtest/gtest.h>

#include <cmath>

#include "plugins/report-gen/finding_labeler.h"

namespace radflow::report_gen {
namespace {

const std::vector<std::string> kSynth = {"cardiomegaly", "effusion", "pneumothorax",
                                         "nodule", "consolidation", "chest_tube"};

std::vector<int> labels(const std::string& text) { return FindingLabeler(kSynth).label(text); }

TEST(FindingLabelerTest, PositiveMentionsAndSynonyms) {
  EXPECT_EQ(labels("Cardiomegaly."), (std::vector<int>{1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(labels("The heart is enlarged."), (std::vector<int>{1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(labels("Heart size is enlarged."), (std::vector<int>{1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(labels("Moderate left pleural effusion."), (std::vector<int>{0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(labels("Small right apical pneumothorax."), (std::vector<int>{0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(labels("4 mm pulmonary nodule, right upper zone."), (std::vector<int>{0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(labels("Left mid zone opacity, consistent with consolidation."),
            (std::vector<int>{0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(labels("Right pleural drain in situ."), (std::vector<int>{0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(labels("Left-sided chest tube with the tip at the apex."), (std::vector<int>{0, 0, 0, 0, 0, 1}));
}

TEST(FindingLabelerTest, NormalSentencesAssertNothing) {
  EXPECT_EQ(labels("Heart size is normal. The cardiac silhouette is within normal limits. "
                   "The costophrenic angles are sharp. The lungs are clear."),
            (std::vector<int>(6, 0)));
}

TEST(FindingLabelerTest, NegationCuesBeforeThePhrase) {
  EXPECT_EQ(labels("No pneumothorax. There is no pneumothorax. No pleural effusion. No effusion. "
                   "No focal consolidation. No airspace consolidation. No suspicious pulmonary nodules."),
            (std::vector<int>(6, 0)));
  EXPECT_EQ(labels("Negative for pneumothorax."), (std::vector<int>(6, 0)));
  EXPECT_EQ(labels("Without evidence of effusion."), (std::vector<int>(6, 0)));
  EXPECT_EQ(labels("Resolved left pneumothorax."), (std::vector<int>(6, 0)));
}

TEST(FindingLabelerTest, PostNegationCues) {
  EXPECT_EQ(labels("No pneumothorax is seen."), (std::vector<int>(6, 0)));
  EXPECT_EQ(labels("The left pneumothorax has resolved."), (std::vector<int>(6, 0)));
  EXPECT_EQ(labels("Pneumothorax is not seen."), (std::vector<int>(6, 0)));
}

TEST(FindingLabelerTest, NegationStopsAtTheSentenceBoundary) {
  // "No" negates only inside its own sentence.
  EXPECT_EQ(labels("No pneumothorax. Effusion on the right."), (std::vector<int>{0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(labels("No change; effusion on the right."), (std::vector<int>{0, 1, 0, 0, 0, 0}));
  // A decimal point is not a sentence boundary.
  EXPECT_EQ(FindingLabeler::sentences("A 3.5 cm nodule. No effusion.").size(), 2u);
}

TEST(FindingLabelerTest, NegationWindowAndTerminators) {
  // The cue is 6 tokens before the phrase: outside the default window of 5.
  EXPECT_EQ(labels("No acute osseous abnormality seen with small effusion."), (std::vector<int>{0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(FindingLabeler(kSynth, {}, 8).label("No acute osseous abnormality seen with small effusion."),
            (std::vector<int>(6, 0)));
  // "but" ends the negation's scope.
  EXPECT_EQ(labels("No pneumothorax but a small effusion."), (std::vector<int>{0, 1, 0, 0, 0, 0}));
  // One asserted mention wins over a negated one.
  EXPECT_EQ(labels("No new effusion. Small left effusion persists."), (std::vector<int>{0, 1, 0, 0, 0, 0}));
}

TEST(FindingLabelerTest, UnknownLabelsMatchTheirNameAndExtraPhrases) {
  FindingLabeler labeler({"pleural_effusion", "hiatal_hernia", "granuloma"}, {{"granuloma", {"calcified focus"}}});
  EXPECT_EQ(labeler.label("Small hiatal hernia. Calcified focus in the right apex. Pleural effusion."),
            (std::vector<int>{1, 1, 1}));
  EXPECT_EQ(labeler.label("No hiatal hernia. Effusions are absent."), (std::vector<int>{0, 0, 0}));
  // Matching is on whole tokens: "effusions" is a listed synonym, "effusionx" is not.
  EXPECT_EQ(labeler.label("Effusionx."), (std::vector<int>{0, 0, 0}));
}

TEST(FindingF1Test, MicroAndMacroFromCounts) {
  // finding 0: tp 1, fp 1, fn 0 -> 2/3; finding 1: tp 0, fp 0, fn 1 -> 0; finding 2: never positive -> NaN.
  const std::vector<std::vector<int>> generated = {{1, 0, 0}, {1, 0, 0}, {0, 0, 0}};
  const std::vector<std::vector<int>> reference = {{1, 0, 0}, {0, 1, 0}, {0, 0, 0}};
  FindingF1 f1 = finding_f1(generated, reference, 3);
  EXPECT_NEAR(f1.per_finding[0], 2.0 / 3.0, 1e-12);
  EXPECT_EQ(f1.per_finding[1], 0.0);
  EXPECT_TRUE(std::isnan(f1.per_finding[2]));
  EXPECT_EQ(f1.macro_count, 2);
  EXPECT_NEAR(f1.macro, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(f1.micro, 2.0 / (2.0 + 1.0 + 1.0), 1e-12);
  EXPECT_TRUE(std::isnan(finding_f1({{0}}, {{0}}, 1).micro));
  EXPECT_TRUE(std::isnan(finding_f1({}, {}, 0).macro));
}

}  // namespace
}  // namespace radflow::report_gen
