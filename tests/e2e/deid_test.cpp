// De-identification end to end (issue #13). A first daemon ("the hospital's") runs
// synth-cxr with phi_canaries: DICOM files whose every profile attribute, private tag
// and sequence carries a canary, named after their PatientIDs, two studies per patient,
// the last image with burned-in annotation. The files are copied out to a plain folder,
// as an export would be. A second daemon runs the dataset step on that folder; then no
// canary may appear anywhere in its data folder (artifacts, attempt folders, database,
// daemon log), in any API answer about the run (run, runs, dashboard list, logs,
// metrics, outputs, artifact and its files), or in a metric name, and each patient's
// two studies keep their interval under the date shift.
#include <gtest/gtest.h>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// kPhiCanary, kPhiCanaryBirthDate and kPhiCanaryUidRoot of plugins/synth-cxr.
const char* const kCanaries[] = {"PHICANARY", "19230517", "1.2.999.4242."};

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The canaries found in `text`, for messages.
std::string canaries_in(const std::string& text) {
  std::string found;
  for (const char* canary : kCanaries) {
    if (text.find(canary) != std::string::npos) found += std::string(found.empty() ? "" : ", ") + canary;
  }
  return found;
}

int64_t days_of(const std::string& date) {  // YYYYMMDD -> days since 1970-01-01
  int y = std::stoi(date.substr(0, 4));
  const unsigned m = std::stoi(date.substr(4, 2)), d = std::stoi(date.substr(6, 2));
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return era * 146097 + static_cast<int64_t>(yoe * 365 + yoe / 4 - yoe / 100 + doy) - 719468;
}

std::string tag_text(DcmDataset* ds, const DcmTagKey& tag) {
  OFString value;
  if (ds->findAndGetOFString(tag, value).bad()) return {};
  return value.c_str();
}

std::string radflowd_help() {
  std::string text;
  if (FILE* out = popen(RADFLOWD_BIN " --help 2>&1", "r")) {
    char buffer[4096];
    size_t n = 0;
    while ((n = fread(buffer, 1, sizeof buffer, out)) > 0) text.append(buffer, n);
    pclose(out);
  }
  return text;
}

// The hospital's export: synth-cxr with canaries, run by its own daemon, copied out of
// that daemon's artifact store into `export_dir`.
void make_export(const DaemonFixtureDirs& dirs, const std::string& export_dir) {
  const std::string pacs_data = dirs.root() + "/pacs";
  Daemon pacs(pacs_data, dirs.plugin_dir());
  const json workflow = {
      {"name", "pacs-export"},
      {"steps", {{"synth", {{"plugin", "synth-cxr"},
                            {"params", {{"seed", 11}, {"count", 10}, {"image_size", 48},
                                        {"compressed_fraction", 0.5}, {"phi_canaries", true}}}}}}}};
  auto [status, body] = pacs.post("/api/v1/runs", workflow.dump());
  ASSERT_EQ(status, 201) << body.dump();
  const json run = pacs.wait_for_run(body["id"].get<int64_t>(), std::chrono::seconds(120));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  fs::path source;
  for (const auto& entry : fs::recursive_directory_iterator(pacs_data)) {
    if (entry.path().filename() == "manifest.csv") source = entry.path().parent_path();
  }
  ASSERT_FALSE(source.empty());
  for (const auto& entry : fs::recursive_directory_iterator(source)) {
    const fs::path target = export_dir / fs::relative(entry.path(), source);
    if (entry.is_directory()) fs::create_directories(target);
    if (entry.is_regular_file()) fs::copy_file(entry.path(), target);
  }
}

TEST(Deidentification, NoCanaryLeavesTheDatasetStepAndDateIntervalsSurvive) {
  DaemonFixtureDirs dirs;
  const std::string export_dir = dirs.root() + "/export";
  fs::create_directories(export_dir);
  ASSERT_NO_FATAL_FAILURE(make_export(dirs, export_dir));
  // The export really carries the canaries, in names, headers and the manifest.
  ASSERT_NE(canaries_in(read_bytes(export_dir + "/manifest.csv")), "");
  ASSERT_TRUE(fs::exists(export_dir + "/images/PHICANARY-PatientID-0-S1.dcm"));

  // The export is a data root, as a hospital's would be (where radflowd has them).
  std::vector<std::string> args;
  if (radflowd_help().find("--data-root") != std::string::npos) args = {"--data-root", export_dir};
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), args);
  // No pseudonym map here: confined workers may write only their attempt folder (the
  // map is tested through the worker alone, tests/data/dataset_plugin_test.cpp).
  const json workflow = {
      {"name", "deid"},
      {"steps", {{"dataset", {{"plugin", "dataset"},
                              {"params", {{"labels", export_dir + "/manifest.csv"}, {"images_dir", export_dir},
                                          {"deid_seed", 3}, {"on_bad_file", "fail"}}}}}}}};
  auto [status, body] = daemon.post("/api/v1/runs", workflow.dump());
  ASSERT_EQ(status, 201) << body.dump();
  const std::string run_path = "/api/v1/runs/" + std::to_string(body["id"].get<int64_t>());
  const json run = daemon.wait_for_run(body["id"].get<int64_t>(), std::chrono::seconds(120));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);

  // Every file radflow keeps: artifact store, attempt folders, database, daemon log.
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dirs.data_dir())) {
    if (!entry.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(canaries_in(read_bytes(entry.path())), "") << entry.path();
  }
  EXPECT_GT(files, 10);

  // What the API says about the run, its step, logs, metrics and artifacts.
  const std::string step = run_path + "/steps/dataset";
  std::vector<std::string> routes = {run_path, "/api/v1/runs", "/api/v1/dashboard/runs", step + "/logs",
                                     step + "/metrics", step + "/outputs"};
  const json outputs = daemon.get(step + "/outputs");
  ASSERT_EQ(outputs.size(), 1u) << outputs.dump();
  const std::string artifact = "/api/v1/artifacts/" + std::to_string(outputs[0]["artifact"].get<int64_t>());
  routes.insert(routes.end(), {artifact, artifact + "/content/manifest.csv", artifact + "/content/stats.json"});
  for (const auto& route : routes) {
    auto res = daemon.http().Get(route.c_str());
    ASSERT_TRUE(res) << route;
    EXPECT_EQ(res->status, 200) << route;
    EXPECT_EQ(canaries_in(res->body), "") << route << ": " << res->body.substr(0, 2000);
  }
  const std::string logs = daemon.http().Get((step + "/logs").c_str())->body;
  EXPECT_NE(logs.find("with burned-in annotation excluded"), std::string::npos) << logs;
  const json metrics = daemon.get(step + "/metrics");
  EXPECT_NE(metrics.dump().find("burned_in_excluded"), std::string::npos) << metrics.dump();

  // The de-identified copies: one study per image but the burned-in one, each
  // patient's two studies still 89 days apart, no date left where it was.
  fs::path manifest_dir;
  for (const auto& entry : fs::recursive_directory_iterator(dirs.data_dir())) {
    if (entry.path().filename() == "manifest.csv") manifest_dir = entry.path().parent_path();
  }
  ASSERT_FALSE(manifest_dir.empty());
  std::map<std::string, std::vector<int64_t>> study_days;
  int images = 0;
  for (const auto& entry : fs::directory_iterator(manifest_dir / "images")) {
    ++images;
    DcmFileFormat file;
    ASSERT_TRUE(file.loadFile(entry.path().c_str()).good()) << entry.path();
    DcmDataset* ds = file.getDataset();
    EXPECT_EQ(tag_text(ds, DCM_PatientIdentityRemoved), "YES");
    EXPECT_EQ(tag_text(ds, DCM_SOPInstanceUID).rfind("2.25.", 0), 0u);
    EXPECT_EQ(tag_text(ds, DCM_StudyInstanceUID).rfind("2.25.", 0), 0u);
    EXPECT_EQ(tag_text(ds, DCM_ViewPosition), "PA");  // whitelisted fields stay
    const std::string date = tag_text(ds, DCM_StudyDate);
    ASSERT_EQ(date.size(), 8u);
    EXPECT_NE(date.substr(0, 4), "2011");
    EXPECT_EQ(tag_text(ds, DCM_SeriesDate), date);
    study_days[tag_text(ds, DCM_PatientID)].push_back(days_of(date));
  }
  EXPECT_EQ(images, 9);
  EXPECT_EQ(study_days.size(), 5u);
  int pairs = 0;
  for (const auto& [patient, days] : study_days) {
    if (days.size() != 2) continue;
    ++pairs;
    EXPECT_EQ(std::abs(days[0] - days[1]), 89) << patient;
  }
  EXPECT_EQ(pairs, 4);
}

}  // namespace
}  // namespace radflow::test
