// CaseSpec: everything random about one synthetic chest radiograph — demographics,
// which findings are present and where, and the acquisition jitter — drawn from an
// Rng by sample_case(). Rendering (phantom_renderer.h), the report
// (report_text.h) and the DICOM header all read the same CaseSpec, so labels, masks,
// pixels and text agree by construction. A plain value type.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "plugins/synth-cxr/rng.h"

namespace radflow::synth {

// Finding order used everywhere (labels, masks, report, params).
enum Finding { kCardiomegaly, kEffusion, kPneumothorax, kNodule, kConsolidation, kChestTube, kFindingCount };
const char* finding_name(int finding);  // "cardiomegaly", ..., "chest_tube"

// Patient side. The image is a PA view: the patient's right is on the image's left.
enum class Side { kRight, kLeft };
const char* side_word(Side side);  // "right" / "left"

struct CaseSpec {
  bool female = false;
  double age_years = 50;
  std::array<bool, kFindingCount> present{};

  // Findings' geometry; lung-local coordinates: lx lateral (+) / medial (-), ly
  // apex (-1) to base (+1), both in [-1, 1] inside the lung ellipse.
  Side effusion_side = Side::kRight;
  double effusion_height = 0.2;  // fraction of the lung's height under fluid
  Side pneumothorax_side = Side::kRight;
  double pneumothorax_rim = 0.1;  // rim width, fraction of the lung radius
  Side nodule_side = Side::kRight;
  double nodule_lx = 0, nodule_ly = 0, nodule_radius = 0.035;  // radius in body units
  Side consolidation_side = Side::kRight;
  double consolidation_lx = 0, consolidation_ly = 0.3, consolidation_radius = 0.18;
  Side tube_side = Side::kRight;
  double tube_bend = 0;

  // Anatomy jitter (body units: the body spans about [-1, 1]).
  double heart_half_width = 0.2;
  double lung_half_width = 0.3, lung_half_height = 0.58;
  // Habitus, drawn independently of sex and age so that neither sets the image's
  // histogram: soft-tissue density, bone density and body width.
  double soft_tissue = 0.43, bone_density = 0.2, body_half_width = 0.9;
  // Acquisition jitter.
  double scale = 1, shift_x = 0, shift_y = 0, rotation_rad = 0;
  double gamma = 1, gain = 1, offset = 0, noise_sigma = 0.02;
  uint64_t texture_seed = 0;
};

struct Prevalence {
  std::array<double, kFindingCount> p{0.25, 0.2, 0.15, 0.2, 0.2, 0.15};
};

// Draws one case. `noise` is the base noise level (param "noise").
CaseSpec sample_case(Rng& rng, const Prevalence& prevalence, double noise);

// Makes `study` a later study (study_index >= 1) of `first`'s patient: sex, body,
// habitus and anatomy from `first`, age + study_index years (capped at 90); findings,
// positioning and exposure stay the study's own.
void same_patient(const CaseSpec& first, int study_index, CaseSpec* study);

}  // namespace radflow::synth
