// Data roots and worker confinement (issue #13), against a real radflowd:
// - a path param ("format": "path") that leads out of the data roots ("..", an
//   absolute path elsewhere, a symlink in a root, a run param, an array item, a
//   relative path) is refused at validation with the JSON pointer of the place it was
//   written, and nothing is stored;
// - a run stored under other roots is checked again when its step starts;
// - under Landlock a worker cannot read outside its allowed paths nor write outside
//   its attempt folder, while its input and its attempt folder work (skipped where
//   the kernel has no Landlock).
#include <gtest/gtest.h>
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool kernel_has_landlock() {
  return ::syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION) > 0;
}

class DataRootsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dirs_.root() + "/datasets";
    fs::create_directories(root_);
    std::ofstream(root_ + "/labels.csv") << "path,label\n";
    secret_ = dirs_.root() + "/secret.csv";
    std::ofstream(secret_) << "patient data\n";
    fs::create_symlink(dirs_.root(), root_ + "/escape");
  }

  static json confine_step(const json& params) {
    return {{"name", "w"}, {"steps", {{"s", {{"plugin", "test-confine"}, {"params", params}}}}}};
  }
  json report_of(Daemon& daemon, int64_t run_id, const std::string& step) {
    auto outputs =
        daemon.get("/api/v1/runs/" + std::to_string(run_id) + "/steps/" + step + "/outputs");
    if (outputs.size() != 1u) return json();
    const std::string artifact = std::to_string(outputs[0]["artifact"].get<int64_t>());
    auto content = daemon.http().Get(("/api/v1/artifacts/" + artifact + "/content").c_str());
    return content && content->status == 200 ? json::parse(content->body) : json();
  }

  DaemonFixtureDirs dirs_;
  std::string root_, secret_;
};

TEST_F(DataRootsE2E, PathsOutOfTheRootsAreRefusedWithTheirPointerAndNothingIsStored) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(), {"--data-root", root_});
  struct Case {
    const char* name;
    json workflow;
    const char* pointer;
    const char* code;
  };
  json run_param = confine_step({{"data", "${params.labels}"}});
  run_param["params"] = {{"labels", secret_}};
  const Case cases[] = {
      {"dot-dot", confine_step({{"data", root_ + "/../secret.csv"}}), "/steps/s/params/data",
       "path_outside_data_roots"},
      {"absolute outside", confine_step({{"data", "/etc/hostname"}}), "/steps/s/params/data",
       "path_outside_data_roots"},
      {"symlink out of a root", confine_step({{"data", root_ + "/escape/secret.csv"}}),
       "/steps/s/params/data", "path_outside_data_roots"},
      {"run-level param", run_param, "/params/labels", "path_outside_data_roots"},
      {"array item", confine_step({{"files", {root_ + "/labels.csv", secret_}}}),
       "/steps/s/params/files/1", "path_outside_data_roots"},
      {"relative", confine_step({{"data", "datasets/labels.csv"}}), "/steps/s/params/data",
       "path_relative"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (const char* route : {"/api/v1/validate", "/api/v1/runs"}) {
      auto [status, body] = daemon.post(route, c.workflow.dump());
      ASSERT_EQ(status, 400) << route << " " << body.dump(2);
      ASSERT_EQ(body["errors"].size(), 1u) << body.dump(2);
      const json& error = body["errors"][0];
      EXPECT_EQ(error["path"], c.pointer) << error.dump();
      EXPECT_EQ(error["code"], c.code) << error.dump();
      const std::string message = error["message"];
      EXPECT_NE(message.find(fs::canonical(root_).string()), std::string::npos) << message;
      EXPECT_NE(message.find("--data-root"), std::string::npos) << message;
    }
  }
  EXPECT_EQ(daemon.get("/api/v1/runs")["runs"].size(), 0u);
  EXPECT_EQ(sql_count(dirs_.database(), "SELECT COUNT(*) FROM runs"), 0);
  EXPECT_EQ(sql_count(dirs_.database(), "SELECT COUNT(*) FROM steps"), 0);

  // Inside the root it runs, and the confined worker may read it.
  auto [status, created] =
      daemon.post("/api/v1/runs", confine_step({{"data", root_ + "/labels.csv"}}).dump());
  ASSERT_EQ(status, 201) << created.dump();
  auto run = daemon.wait_for_run(created["id"], std::chrono::seconds(60));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  EXPECT_EQ(report_of(daemon, created["id"], "s")["read_data"], "ok");
}

TEST_F(DataRootsE2E, WithoutTheFlagTheRootIsTheDataFoldersDataSubfolder) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
  const std::string inside = dirs_.data_dir() + "/data/labels.csv";
  auto [ok_status, ok_body] =
      daemon.post("/api/v1/validate", confine_step({{"data", inside}}).dump());
  EXPECT_EQ(ok_status, 200) << ok_body.dump(2);
  auto [status, body] = daemon.post("/api/v1/validate", confine_step({{"data", secret_}}).dump());
  ASSERT_EQ(status, 400) << body.dump(2);
  EXPECT_EQ(body["errors"][0]["path"], "/steps/s/params/data");
}

TEST_F(DataRootsE2E, RunStoredUnderOtherRootsIsCheckedAgainWhenItsStepStarts) {
  const std::string other = dirs_.root() + "/other";
  fs::create_directories(other);
  int64_t run_id = 0;
  {
    Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(), {"--data-root", root_});
    // "first" hangs on its first attempt, so the daemon stops with "later" queued.
    json workflow = {
        {"name", "w"},
        {"steps",
         {{"first", {{"plugin", "test-flaky"}}},
          {"later",
           {{"plugin", "test-confine"},
            {"params", {{"data", root_ + "/labels.csv"}}},
            {"inputs", {{"in", "first.out"}}}}}}}};
    auto [status, created] = daemon.post("/api/v1/runs", workflow.dump());
    ASSERT_EQ(status, 201) << created.dump();
    run_id = created["id"];
    for (int i = 0; i < 400; ++i) {
      auto run = daemon.get("/api/v1/runs/" + std::to_string(run_id));
      if (Daemon::step_of(run, "first")["status"] == "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    daemon.kill_hard();
  }
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(), {"--data-root", other});
  auto run = daemon.wait_for_run(run_id, std::chrono::seconds(60));
  EXPECT_EQ(run["status"], "failed") << run.dump(2);
  EXPECT_EQ(Daemon::step_of(run, "first")["status"], "succeeded") << run.dump(2);
  const json later = Daemon::step_of(run, "later");
  EXPECT_EQ(later["status"], "failed") << later.dump(2);
  EXPECT_EQ(later["reason"], "path_outside_data_roots") << later.dump(2);
  EXPECT_EQ(later["attempts"].size(), 0u) << "no worker was started";
}

class ConfinedWorker : public DataRootsE2E {
 protected:
  // test-ok writes "42" for test-confine's input; test-confine then probes.
  json probe_workflow() const {
    return {{"name", "probe"},
            {"steps",
             {{"make", {{"plugin", "test-ok"}, {"params", {{"value", 42}}}}},
              {"probe",
               {{"plugin", "test-confine"},
                {"params",
                 {{"read_path", secret_}, {"write_path", dirs_.root() + "/escaped.txt"}}},
                {"inputs", {{"in", "make.out"}}}}}}}};
  }
  json run_probe(const std::vector<std::string>& flags) {
    Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(), flags);
    auto [status, created] = daemon.post("/api/v1/runs", probe_workflow().dump());
    EXPECT_EQ(status, 201) << created.dump();
    auto run = daemon.wait_for_run(created["id"], std::chrono::seconds(60));
    EXPECT_EQ(run["status"], "succeeded") << run.dump(2);
    return report_of(daemon, created["id"], "probe");
  }
};

TEST_F(ConfinedWorker, CannotReadOrWriteOutsideButUsesItsInputAndAttemptFolder) {
  if (!kernel_has_landlock()) {
    GTEST_SKIP() << "this kernel offers no Landlock (landlock_create_ruleset failed): workers "
                    "cannot be confined here";
  }
  json report = run_probe({"--data-root", root_});
  EXPECT_EQ(report["read_outside"], "EACCES") << report.dump(2);
  EXPECT_EQ(report["write_outside"], "EACCES") << report.dump(2);
  EXPECT_EQ(report["read_input"], "ok") << report.dump(2);
  EXPECT_EQ(report["write_attempt"], "ok") << report.dump(2);
  EXPECT_EQ(report["write_tmpdir"], "ok") << report.dump(2);
  EXPECT_FALSE(fs::exists(dirs_.root() + "/escaped.txt"));
}

TEST_F(ConfinedWorker, ReadsArtifactsItsInputsReferTo) {
  // An input may name files of earlier artifacts (a features artifact names the
  // dataset's masks): the immutable, read-only artifact store is readable, while the
  // rest of the data folder (the database, other attempts) is not.
  if (!kernel_has_landlock()) GTEST_SKIP() << "this kernel offers no Landlock";
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(), {"--data-root", root_});
  json earlier = {{"name", "earlier"},
                  {"steps", {{"make", {{"plugin", "test-ok"}, {"params", {{"value", 7}}}}}}}};
  auto [status, created] = daemon.post("/api/v1/runs", earlier.dump());
  ASSERT_EQ(status, 201) << created.dump();
  ASSERT_EQ(daemon.wait_for_run(created["id"], std::chrono::seconds(60))["status"], "succeeded");
  std::string stored;
  for (const auto& entry : fs::recursive_directory_iterator(dirs_.data_dir() + "/artifacts")) {
    if (entry.is_regular_file()) stored = entry.path().string();
  }
  ASSERT_FALSE(stored.empty());

  json workflow = probe_workflow();
  workflow["steps"]["probe"]["params"]["read_path"] = stored;
  auto [status2, created2] = daemon.post("/api/v1/runs", workflow.dump());
  ASSERT_EQ(status2, 201) << created2.dump();
  ASSERT_EQ(daemon.wait_for_run(created2["id"], std::chrono::seconds(60))["status"], "succeeded");
  EXPECT_EQ(report_of(daemon, created2["id"], "probe")["read_outside"], "ok");

  workflow["steps"]["probe"]["params"]["read_path"] = dirs_.data_dir() + "/radflow.db";
  auto [status3, created3] = daemon.post("/api/v1/runs", workflow.dump());
  ASSERT_EQ(status3, 201) << created3.dump();
  ASSERT_EQ(daemon.wait_for_run(created3["id"], std::chrono::seconds(60))["status"], "succeeded");
  EXPECT_EQ(report_of(daemon, created3["id"], "probe")["read_outside"], "EACCES");
}

TEST_F(ConfinedWorker, NoConfineLeavesTheWorkerUnconfined) {
  json report = run_probe({"--data-root", root_, "--no-confine"});
  EXPECT_EQ(report["read_outside"], "ok") << report.dump(2);
  EXPECT_EQ(report["write_outside"], "ok") << report.dump(2);
  EXPECT_EQ(report["read_input"], "ok") << report.dump(2);
  EXPECT_TRUE(fs::exists(dirs_.root() + "/escaped.txt"));
}

}  // namespace
}  // namespace radflow::test
