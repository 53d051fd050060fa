// A two-encoder run recorded straight into a store, as radflowd would have recorded
// demo.json's evaluations of a pretrained and a randomly initialised encoder: steps
// dataset -> pretrain / random-init -> features-* -> probe-*, segment-*, report-*,
// demographics, with their final metrics, report.json outputs (with the plugins'
// intervals) and per-item predictions artifacts in the plugins' formats. The
// predictions are seeded: the pretrained encoder separates effusion, segments the lungs
// and writes the reports better (significant differences); on nodule and the heart
// the two are equally good (no clear difference). Every metric recorded, per finding
// and per structure too, equals the compare library's evaluation of the predictions;
// report.json carries the plugins' own intervals (made-up offsets around the value)
// where the plugins write them, also recorded as "<metric>.low" / "<metric>.high":
// every figure but the probe's macro ones, which the card bootstraps.
// Test-only.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "storage/artifact_store.h"
#include "storage/store.h"

namespace radflow::report::testing {

// Writes scratch files under `scratch_dir` (moved into `artifacts`); returns the run id.
// `workflow` is the recorded workflow's name (features-pretrained reads 224-px images,
// features-random 518-px ones: "ablation-resolution" makes it a resolution ablation).
Result<int64_t> record_two_encoder_run(storage::Store& store, storage::ArtifactStore& artifacts,
                                       const std::string& scratch_dir,
                                       const std::string& workflow = "report-fixture", uint64_t seed = 7);

}  // namespace radflow::report::testing
