#include "plugins/synth-cxr/report_text.h"

#include <cstdio>
#include <vector>

namespace radflow::synth {
namespace {

template <size_t N>
std::string pick(Rng& rng, const char* const (&options)[N]) {
  return options[rng.below(N)];
}

std::string capitalised(std::string text) {
  if (!text.empty() && text[0] >= 'a' && text[0] <= 'z') text[0] = static_cast<char>(text[0] - 'a' + 'A');
  return text;
}

// Replaces each "{}" in `pattern` by the next of `words`.
std::string fill(const std::string& pattern, const std::vector<std::string>& words) {
  std::string out;
  size_t w = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.compare(i, 2, "{}") == 0 && w < words.size()) {
      out += words[w++];
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return capitalised(out);
}

const char* zone(double ly) { return ly < -0.25 ? "upper" : (ly > 0.25 ? "lower" : "mid"); }

}  // namespace

std::string build_report(const CaseSpec& c, Rng& rng) {
  std::vector<std::string> sentences;
  const auto& has = c.present;
  // Draw every choice whether or not it is used, so the phrasing of one finding does
  // not depend on which other findings are present.
  const uint64_t variant[8] = {rng.next(), rng.next(), rng.next(), rng.next(),
                               rng.next(), rng.next(), rng.next(), rng.next()};
  Rng tube_rng(variant[0]), ptx_rng(variant[1]), eff_rng(variant[2]), con_rng(variant[3]),
      nod_rng(variant[4]), heart_rng(variant[5]);

  if (has[kChestTube]) {
    static const char* const kTube[] = {"{} chest tube in place.", "{} pleural drain in situ.",
                                        "{}-sided chest tube with the tip at the apex."};
    sentences.push_back(fill(pick(tube_rng, kTube), {side_word(c.tube_side)}));
  }
  if (has[kPneumothorax]) {
    static const char* const kSize[] = {"small", "moderate"};
    static const char* const kPtx[] = {"{} {} apical pneumothorax.", "there is a {} {} pneumothorax.",
                                       "{} {} pneumothorax at the apex."};
    const std::string size = kSize[c.pneumothorax_rim > 0.2 ? 1 : 0];
    sentences.push_back(fill(pick(ptx_rng, kPtx), {size, side_word(c.pneumothorax_side)}));
  } else {
    static const char* const kNoPtx[] = {"No pneumothorax.", "There is no pneumothorax.", "No pneumothorax is seen."};
    sentences.push_back(pick(ptx_rng, kNoPtx));
  }
  if (has[kEffusion]) {
    static const char* const kSize[] = {"small", "moderate", "large"};
    static const char* const kEff[] = {"{} {} pleural effusion.", "there is a {} {} pleural effusion.",
                                       "{} {} effusion with blunting of the costophrenic angle."};
    const std::string size = kSize[c.effusion_height < 0.23 ? 0 : (c.effusion_height < 0.33 ? 1 : 2)];
    sentences.push_back(fill(pick(eff_rng, kEff), {size, side_word(c.effusion_side)}));
  } else {
    static const char* const kNoEff[] = {"No pleural effusion.", "No effusion.",
                                         "The costophrenic angles are sharp."};
    sentences.push_back(pick(eff_rng, kNoEff));
  }
  if (has[kConsolidation]) {
    static const char* const kCon[] = {"patchy consolidation in the {} {} zone.",
                                       "there is airspace consolidation in the {} {} zone.",
                                       "{} {} zone opacity, consistent with consolidation."};
    sentences.push_back(fill(pick(con_rng, kCon), {side_word(c.consolidation_side), zone(c.consolidation_ly)}));
  } else {
    // "The lungs are clear" only when nothing else in the lungs contradicts it.
    static const char* const kNoCon[] = {"No focal consolidation.", "No airspace consolidation.",
                                         "The lungs are clear."};
    const bool clear = !has[kNodule] && !has[kPneumothorax] && !has[kEffusion];
    sentences.push_back(kNoCon[con_rng.below(clear ? 3 : 2)]);
  }
  if (has[kNodule]) {
    char mm[16];
    std::snprintf(mm, sizeof mm, "%d mm", static_cast<int>(c.nodule_radius * 2 * 200 + 0.5));
    static const char* const kNod[] = {"{} nodule in the {} {} zone.", "{} nodule projecting over the {} {} zone.",
                                       "{} pulmonary nodule, {} {} zone."};
    sentences.push_back(fill(pick(nod_rng, kNod), {mm, side_word(c.nodule_side), zone(c.nodule_ly)}));
  } else if (nod_rng.bernoulli(0.6)) {
    static const char* const kNoNod[] = {"No pulmonary nodule.", "No suspicious pulmonary nodules."};
    sentences.push_back(pick(nod_rng, kNoNod));
  }
  if (has[kCardiomegaly]) {
    static const char* const kCardio[] = {"Heart size is enlarged.", "The heart is enlarged.", "Cardiomegaly."};
    sentences.push_back(pick(heart_rng, kCardio));
  } else {
    static const char* const kNormal[] = {"Heart size is normal.", "The cardiac silhouette is within normal limits.",
                                          "Normal heart size."};
    sentences.push_back(pick(heart_rng, kNormal));
  }
  std::string report;
  for (const std::string& s : sentences) {
    if (!report.empty()) report += ' ';
    report += s;
  }
  return report;
}

}  // namespace radflow::synth
