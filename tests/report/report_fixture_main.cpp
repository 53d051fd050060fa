// radflow-report-fixture DATA_DIR: records the two-encoder run (two_encoder_run.h)
// into radflowd's data folder DATA_DIR, before radflowd starts on it, and prints as
// JSON what the independent recomputation from the predictions artifacts
// (paired_recomputation.h, not plugins/compare) says of each paired difference, per
// finding and per structure too (the report card's defaults: 1000 resamples, seed 0),
// for tests/browser/report.test.mjs:
//   {"run_id": N, "differences": {"probe": {"macro_auroc": "better", "auprc.nodule": ...}, ...}}
// radflow-report-fixture --recompute KIND REFERENCE OTHER [REF_ENCODER OTHER_ENCODER]:
// the same recomputation for two predictions artifacts of any run (a demo run's card
// checked by hand), 1000 resamples, seed 0: {"<metric>": {point, low, high, verdict}}.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "tests/report/paired_recomputation.h"
#include "tests/report/two_encoder_run.h"

namespace {

using nlohmann::json;
using radflow::Result;

Result<json> expected_differences(radflow::storage::Store& store, radflow::storage::ArtifactStore& artifacts,
                                  int64_t run) {
  auto predictions = [&](const std::string& step) -> Result<std::string> {
    RF_ASSIGN_OR_RETURN(auto s, store.find_step(run, step));
    RF_ASSIGN_OR_RETURN(auto outputs, store.outputs_of_step(s.id));
    for (const auto& a : outputs) {
      if (a.output_name == "predictions") return artifacts.path_of(a.digest);
    }
    return radflow::Status::error("not_found", step + " has no predictions");
  };
  json out = json::object();
  for (const auto& [kind, a_step, b_step] :
       {std::tuple{"probe", "probe-pretrained", "probe-random"},
        std::tuple{"segment", "segment-pretrained", "segment-random"},
        std::tuple{"report", "report-pretrained", "report-random"},
        std::tuple{"demographics", "demographics", "demographics"}}) {
    const bool demographics = std::string(kind) == "demographics";
    RF_ASSIGN_OR_RETURN(auto a_path, predictions(a_step));
    RF_ASSIGN_OR_RETURN(auto b_path, predictions(b_step));
    RF_ASSIGN_OR_RETURN(auto recomputed, radflow::report::testing::recompute_paired_differences(
                                             kind, a_path, b_path, demographics ? "pretrained" : "",
                                             demographics ? "random" : "", 1000, 0));
    for (const auto& [metric, d] : recomputed) out[kind][metric] = d.verdict;
  }
  return out;
}

}  // namespace

int recompute(int argc, char** argv) {
  if (argc != 5 && argc != 7) {
    std::fprintf(stderr, "usage: radflow-report-fixture --recompute KIND REFERENCE OTHER [REF_ENCODER OTHER_ENCODER]\n");
    return 2;
  }
  auto recomputed = radflow::report::testing::recompute_paired_differences(
      argv[2], argv[3], argv[4], argc == 7 ? argv[5] : "", argc == 7 ? argv[6] : "", 1000, 0);
  if (!recomputed.ok()) {
    std::fprintf(stderr, "radflow-report-fixture: %s\n", recomputed.status().to_string().c_str());
    return 1;
  }
  json out = json::object();
  for (const auto& [metric, d] : *recomputed) {
    out[metric] = {{"point", d.point}, {"low", d.low}, {"high", d.high}, {"verdict", d.verdict}};
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--recompute") return recompute(argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: radflow-report-fixture DATA_DIR (radflowd's --data-dir, before it starts)\n");
    return 2;
  }
  const std::string data_dir = argv[1];
  auto store = radflow::storage::Store::open(data_dir);
  auto artifacts = radflow::storage::ArtifactStore::open(data_dir);
  if (!store.ok() || !artifacts.ok()) {
    std::fprintf(stderr, "radflow-report-fixture: cannot open the stores in %s: %s\n", data_dir.c_str(),
                 (store.ok() ? artifacts.status() : store.status()).to_string().c_str());
    return 1;
  }
  auto run = radflow::report::testing::record_two_encoder_run(**store, **artifacts, data_dir + "/fixture-scratch");
  if (!run.ok()) {
    std::fprintf(stderr, "radflow-report-fixture: %s\n", run.status().to_string().c_str());
    return 1;
  }
  auto differences = expected_differences(**store, **artifacts, *run);
  if (!differences.ok()) {
    std::fprintf(stderr, "radflow-report-fixture: %s\n", differences.status().to_string().c_str());
    return 1;
  }
  std::printf("%s\n", json{{"run_id", *run}, {"differences", *differences}}.dump().c_str());
  return 0;
}
