#include "plugins/synth-cxr/case_spec.h"

#include <algorithm>

namespace radflow::synth {

const char* finding_name(int finding) {
  static const char* const kNames[kFindingCount] = {"cardiomegaly", "effusion", "pneumothorax",
                                                    "nodule", "consolidation", "chest_tube"};
  return finding >= 0 && finding < kFindingCount ? kNames[finding] : "";
}

const char* side_word(Side side) { return side == Side::kRight ? "right" : "left"; }

CaseSpec sample_case(Rng& rng, const Prevalence& prevalence, double noise) {
  CaseSpec c;
  // Draw every field unconditionally, in a fixed order, so changing one prevalence
  // does not reshuffle the other attributes of the same image.
  c.female = rng.bernoulli(0.5);
  c.age_years = std::floor(rng.uniform(18, 91));
  for (int f = 0; f < kFindingCount; ++f) c.present[f] = rng.bernoulli(prevalence.p[f]);
  auto side = [&rng]() { return rng.bernoulli(0.5) ? Side::kLeft : Side::kRight; };

  c.effusion_side = side();
  c.effusion_height = rng.uniform(0.12, 0.32);
  c.pneumothorax_side = side();
  c.pneumothorax_rim = rng.uniform(0.12, 0.25);
  c.nodule_side = side();
  // Uniform in a disk of radius 0.55 so the nodule stays well inside the lung.
  const double nr = 0.55 * std::sqrt(rng.uniform()), na = rng.uniform(0, 6.283185307179586);
  c.nodule_lx = nr * std::cos(na);
  c.nodule_ly = nr * std::sin(na);
  c.nodule_radius = rng.uniform(0.025, 0.05);
  c.consolidation_side = side();
  c.consolidation_lx = rng.uniform(-0.3, 0.4);
  c.consolidation_ly = rng.uniform(0.0, 0.45);
  c.consolidation_radius = rng.uniform(0.13, 0.2);
  c.tube_side = side();
  c.tube_bend = rng.uniform(-0.08, 0.08);

  // Cardiomegaly widens the heart beyond the normal range: cardiothoracic ratio
  // about 0.42 normal vs 0.6 enlarged, with overlap-free jitter so the label is clean.
  c.heart_half_width = c.present[kCardiomegaly] ? rng.uniform(0.29, 0.34) : rng.uniform(0.18, 0.23);
  // Sex changes the thorax: wider, squarer lungs for men.
  c.lung_half_width = (c.female ? 0.28 : 0.31) * rng.uniform(0.95, 1.05);
  // Depth of inspiration varies widely between films and moves the diaphragm.
  c.lung_half_height = (c.female ? 0.6 : 0.56) * rng.uniform(0.86, 1.1);

  // Habitus varies between patients far more than sex or age move it, as on real
  // radiographs; sex and age act on shape and local structure instead.
  c.soft_tissue = rng.uniform(0.36, 0.5);
  c.bone_density = rng.uniform(0.15, 0.24);
  c.body_half_width = rng.uniform(0.82, 0.95);

  c.scale = rng.uniform(0.88, 1.04);
  c.shift_x = rng.uniform(-0.05, 0.05);
  c.shift_y = rng.uniform(-0.05, 0.05);
  c.rotation_rad = rng.uniform(-0.07, 0.07);
  c.gamma = rng.uniform(0.8, 1.25);
  c.gain = rng.uniform(0.8, 1.1);
  c.offset = rng.uniform(0.0, 0.08);
  c.noise_sigma = noise * rng.uniform(0.6, 1.4);
  c.texture_seed = rng.next();
  return c;
}

void same_patient(const CaseSpec& first, int study_index, CaseSpec* study) {
  study->female = first.female;
  study->age_years = std::min(90.0, first.age_years + study_index);
  study->lung_half_width = first.lung_half_width;
  study->lung_half_height = first.lung_half_height;
  study->soft_tissue = first.soft_tissue;
  study->bone_density = first.bone_density;
  study->body_half_width = first.body_half_width;
  if (!study->present[kCardiomegaly] && !first.present[kCardiomegaly]) study->heart_half_width = first.heart_half_width;
}

}  // namespace radflow::synth
