// build_report: the findings section of a radiology report for one CaseSpec, with
// positive sentences for present findings and (often) explicit negations for absent
// ones, e.g. "Heart size is enlarged. Small left pleural effusion. No pneumothorax.".
// Phrasing varies with `rng`; the content always matches the spec. Thread-safe for
// distinct Rngs.
#pragma once

#include <string>

#include "plugins/synth-cxr/case_spec.h"
#include "plugins/synth-cxr/rng.h"

namespace radflow::synth {

std::string build_report(const CaseSpec& spec, Rng& rng);

}  // namespace radflow::synth
