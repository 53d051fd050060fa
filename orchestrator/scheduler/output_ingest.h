// ingest_outputs: takes a finished attempt's registered outputs into the artifact
// store, in a way that can be repeated after a crash at any moment.
//
// The plan (each output's digest, computed before anything moves) is written to
// attempt_dir/ingest.json first; then each output is moved into the store. Run again
// after a crash, an output whose file already moved is found in the store by its
// planned digest. Outputs must lie inside attempt_dir/outputs.
//
// `expected_digests` (name -> sha256, from workers that ran elsewhere and hashed
// their outputs there): an output whose digest here differs is refused with
// "output_digest_mismatch" (an incomplete or stale copy on a shared filesystem),
// before anything moves.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/artifact_store.h"
#include "storage/records.h"

namespace radflow {

Result<std::map<std::string, storage::StoredArtifact>> ingest_outputs(
    storage::ArtifactStore& store, const std::string& attempt_dir,
    const std::map<std::string, std::string>& outputs,
    const std::map<std::string, std::string>& expected_digests = {});

// The artifact rows that register `stored` (in its order, by output name) for
// Store::finish_attempt_with_outputs, which fills in the attempt and step.
std::vector<storage::ArtifactRecord> artifact_records(
    const std::map<std::string, storage::StoredArtifact>& stored);

}  // namespace radflow
