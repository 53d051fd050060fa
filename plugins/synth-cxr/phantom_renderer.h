// render_phantom: draws one synthetic PA chest radiograph from a CaseSpec — body
// outline, lungs, heart, mediastinum/spine, ribs and clavicles, the present findings,
// then contrast and noise — together with pixel-exact masks of the drawn structures.
// Pure function of (CaseSpec, size, Rng state); thread-safe for distinct Rngs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "plugins/synth-cxr/case_spec.h"
#include "plugins/synth-cxr/rng.h"

namespace radflow::synth {

struct Phantom {
  int size = 0;                 // width = height
  std::vector<float> pixels;    // row-major, [0, 1], brighter = denser (MONOCHROME2 sense)
  // "lungs", "heart", and one per present finding ("cardiomegaly" is the heart):
  // row-major, 0 or 255.
  std::map<std::string, std::vector<uint8_t>> masks;
};

// `rng` supplies the pixel noise only; everything else comes from `spec`.
Phantom render_phantom(const CaseSpec& spec, int size, Rng& rng);

}  // namespace radflow::synth
