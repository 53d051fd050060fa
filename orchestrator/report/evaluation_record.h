// EvaluationRecord: what the report card knows of one encoder's evaluation, read from
// the store (read_evaluations): the step's final metrics, its report.json, where its
// per-item predictions lie, and the provenance of every figure it yields.
//
// An evaluation is one step of probe, segment, report-gen or demographic-correlation;
// a demographic-correlation step judges several encoders at once and yields one record
// per encoder (its metrics are recorded as "<name>.<field>_<metric>"). The encoder is
// identified by the features step the evaluation read (run and step name), and
// labelled after it ("features-pretrained" -> "pretrained", "#<run> " prefixed when
// the report spans several runs).
//
// Values only; read_evaluations borrows the stores for the call and is as
// thread-safe as they are (both are).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/artifact_store.h"
#include "storage/store.h"

namespace radflow::report {

// Where a figure comes from. Digests are sha256 hex; empty when not recorded (a
// raw-pixel feature set reads no checkpoint).
struct Provenance {
  int64_t run_id = 0;
  std::string step;
  int64_t metrics_run_id = 0;  // where the metrics were recorded: a cached step's source
  std::string metrics_step;
  std::string plugin;
  std::string plugin_version;
  std::string plugin_sha256;
  std::string features_step;      // the feature set the evaluation read
  std::string checkpoint_sha256;  // the encoder checkpoint the features were computed from
  std::string dataset_sha256;     // the dataset artifact the features were computed on
  std::string predictions_sha256;
};

struct EvaluationRecord {
  std::string kind;         // compare kind: "probe", "segment", "report", "demographics"
  std::string encoder;      // label shown in the report
  std::string encoder_key;  // "<run>/<features step>": the same encoder across sections
  std::string name_in_step; // demographics: the encoder's name inside the step
  Provenance provenance;
  // Final values (last point of the latest attempt) by recorded name; for
  // demographics without the "<name>." prefix. NaN recorded as NaN.
  std::map<std::string, double> metrics;
  nlohmann::json report;         // the step's report.json output; null when absent
  std::string predictions_path;  // the predictions output in the artifact store; "" when absent
  int64_t overlays_artifact = 0; // segment: the overlays folder's artifact id; 0 when absent
  std::string overlays_dir;       // and where it lies in the artifact store
  std::vector<std::string> overlay_files;  // its PNGs, relative paths, sorted
  // Resolved params of the steps that made the encoder, for ablation axes:
  // {"features": {...}, "pretrain": {...}} (an absent step is absent).
  nlohmann::json encoder_params = nlohmann::json::object();
};

struct RunSummary {
  int64_t id = 0;
  std::string name;
  std::string status;
  std::string workflow;       // the workflow's "name"
  std::string worker_sha256;  // from the run's manifest; "" when it has none
};

struct ReportInputs {
  std::vector<RunSummary> runs;
  std::vector<EvaluationRecord> evaluations;  // in run order, then the steps' order
};

// Errors: not_found naming the run; storage errors as the store gives them.
Result<ReportInputs> read_evaluations(storage::Store& store, const storage::ArtifactStore& artifacts,
                                      const std::vector<int64_t>& run_ids);

}  // namespace radflow::report
