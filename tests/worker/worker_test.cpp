// radflow-worker end to end: the real binary, real plugins, events on fd 3.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/utf8.h"
#include "tests/worker/worker_process.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kTestPlugins = RADFLOW_TEST_PLUGIN_DIR;
const std::string kExamplePlugins = RADFLOW_EXAMPLE_PLUGIN_DIR;

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-worker-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes an attempt spec for a test plugin and returns its path.
  std::string spec(const std::string& plugin, json extra = json::object(),
                   const std::string& plugin_dir = kTestPlugins) {
    json s = {{"plugin_path", plugin_dir + "/" + plugin + ".so"},
              {"plugin_dir", plugin_dir},
              {"plugin_name", plugin},
              {"output_dir", dir_ + "/out-" + plugin}};
    s.update(extra);
    const std::string path = dir_ + "/" + plugin + "-" + std::to_string(++specs_) + ".json";
    std::ofstream(path) << s.dump();
    return path;
  }

  std::vector<json> of_type(const WorkerProcess& w, const std::string& type) {
    std::vector<json> out;
    for (const auto& e : w.events()) {
      if (e.is_object() && e.value("type", "") == type) out.push_back(e);
    }
    return out;
  }

  static bool log_says(const json& e, const std::string& message) {
    return e.is_object() && e.value("type", "") == "log" && e.value("message", "") == message;
  }

  // Runs to completion; returns the exit code (or -signal).
  static int finish(WorkerProcess& w) {
    w.read_all();
    int status = w.wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  static void expect_end(const WorkerProcess& w, const std::string& status, const std::string& reason) {
    ASSERT_FALSE(w.events().empty());
    const json& last = w.events().back();
    EXPECT_EQ(last.value("type", ""), "end") << last.dump();
    EXPECT_EQ(last.value("status", ""), status) << last.dump();
    EXPECT_EQ(last.value("reason", ""), reason) << last.dump();
  }

  std::string dir_;
  int specs_ = 0;
};

TEST_F(WorkerTest, OkRunsAndStreamsEveryKindOfEvent) {
  std::ofstream(dir_ + "/in.txt") << "40\n";
  const std::string counter = dir_ + "/invocations";
  WorkerProcess w({"--attempt", spec("test-ok", {{"params", {{"value", 2}}},
                                                 {"inputs", {{"in", dir_ + "/in.txt"}}}})},
                  {{"RADFLOW_TEST_INVOCATIONS", counter}});
  EXPECT_EQ(finish(w), 0);
  for (size_t i = 0; i < w.events().size(); ++i) {
    ASSERT_TRUE(w.events()[i].is_object()) << "line " << i << " does not parse: " << w.raw_lines()[i];
  }
  expect_end(w, "succeeded", "ok");

  auto metrics = of_type(w, "metric");
  ASSERT_EQ(metrics.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(metrics[i]["name"], "value");
    EXPECT_EQ(metrics[i]["iteration"], i);
    EXPECT_EQ(metrics[i]["value"], 2.0 * i);
    EXPECT_TRUE(metrics[i]["ts_ms"].is_number_integer());
  }
  auto progress = of_type(w, "progress");
  ASSERT_EQ(progress.size(), 5u);
  EXPECT_EQ(progress.back()["fraction"], 1.0);
  bool saw_info = false, saw_warning = false;
  for (const auto& log : of_type(w, "log")) {
    saw_info |= log["level"] == "info" && log["message"] == "test-ok starting with value 2";
    saw_warning |= log["level"] == "warning";
  }
  EXPECT_TRUE(saw_info);
  EXPECT_TRUE(saw_warning);

  auto outputs = of_type(w, "output");
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0]["name"], "out");
  const std::string out = outputs[0]["path"];
  EXPECT_TRUE(fs::path(out).is_absolute());
  std::ifstream result(out);
  int value = 0;
  result >> value;
  EXPECT_EQ(value, 42);

  std::ifstream counted(counter);
  std::string line;
  int lines = 0;
  while (std::getline(counted, line)) ++lines;
  EXPECT_EQ(lines, 1);
}

TEST_F(WorkerTest, FailReportsThePluginsMessage) {
  WorkerProcess w({"--attempt", spec("test-fail")});
  EXPECT_EQ(finish(w), 1);
  expect_end(w, "failed", "plugin_failed");
  EXPECT_EQ(w.events().back()["message"], "disk quota exceeded in test");
}

TEST_F(WorkerTest, ThrowIsCaughtByTheHelper) {
  WorkerProcess w({"--attempt", spec("test-throw")});
  EXPECT_EQ(finish(w), 1);
  expect_end(w, "failed", "plugin_exception");
  EXPECT_NE(w.events().back()["message"].get<std::string>().find("boom"), std::string::npos);
}

TEST_F(WorkerTest, SegfaultKillsTheWorkerWithoutAnEndEvent) {
  WorkerProcess w({"--attempt", spec("test-segv")});
  EXPECT_EQ(finish(w), -SIGSEGV);
  EXPECT_TRUE(w.end_event().is_null());
}

TEST_F(WorkerTest, AbortKillsTheWorkerWithoutAnEndEvent) {
  WorkerProcess w({"--attempt", spec("test-abort")});
  EXPECT_EQ(finish(w), -SIGABRT);
  EXPECT_TRUE(w.end_event().is_null());
}

TEST_F(WorkerTest, HangIgnoresSigtermButNotSigkill) {
  WorkerProcess w({"--attempt", spec("test-hang")});
  ASSERT_TRUE(w.read_until([](const json& e) { return log_says(e, "hanging"); }));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_TRUE(w.running());
  w.signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(w.running()) << "SIGTERM only requests cancellation";
  w.signal(SIGKILL);
  EXPECT_EQ(finish(w), -SIGKILL);
  EXPECT_TRUE(w.end_event().is_null());
}

TEST_F(WorkerTest, SigtermCancelsACooperativePlugin) {
  WorkerProcess w({"--attempt", spec("test-cancellable")});
  ASSERT_TRUE(w.read_until([](const json& e) { return log_says(e, "waiting for cancellation"); }));
  w.signal(SIGTERM);
  EXPECT_EQ(finish(w), 3);
  expect_end(w, "cancelled", "cancelled");
  bool saw_stop = false;
  for (const auto& e : w.events()) saw_stop |= log_says(e, "cancelled; stopping");
  EXPECT_TRUE(saw_stop) << "events logged before the end must be flushed";
}

TEST_F(WorkerTest, BadAbiIsRefused) {
  WorkerProcess w({"--attempt", spec("test-bad-abi")});
  EXPECT_EQ(finish(w), 1);
  expect_end(w, "failed", "abi_mismatch");
}

TEST_F(WorkerTest, MissingSymbolIsRefused) {
  WorkerProcess w({"--attempt", spec("test-no-symbol")});
  EXPECT_EQ(finish(w), 1);
  expect_end(w, "failed", "missing_entry_symbol");
}

TEST_F(WorkerTest, NameMismatchIsRefused) {
  WorkerProcess w({"--attempt", spec("test-ok", {{"plugin_name", "numbers"}})});
  EXPECT_EQ(finish(w), 1);
  expect_end(w, "failed", "name_mismatch");
}

TEST_F(WorkerTest, UnregisteredOutputIsMissingOutputs) {
  WorkerProcess w({"--attempt", spec("test-ok", {{"params", {{"register", false}}}})});
  EXPECT_EQ(finish(w), 1);
  expect_end(w, "failed", "missing_outputs");
  EXPECT_NE(w.events().back()["message"].get<std::string>().find("out"), std::string::npos);
}

TEST_F(WorkerTest, ParamOfTheWrongTypeIsAPluginException) {
  WorkerProcess w({"--attempt", spec("test-ok", {{"params", {{"value", "two"}}}})});
  EXPECT_EQ(finish(w), 1);
  expect_end(w, "failed", "plugin_exception");
  EXPECT_NE(w.events().back()["message"].get<std::string>().find("'value'"), std::string::npos);
}

TEST_F(WorkerTest, InvalidSpecs) {
  const std::string broken = dir_ + "/broken.json";
  std::ofstream(broken) << "{\"plugin_path\": ";
  WorkerProcess a({"--attempt", broken});
  EXPECT_EQ(finish(a), 1);
  expect_end(a, "failed", "invalid_spec");

  WorkerProcess b({"--attempt", spec("test-ok", {{"plugin_dir", nullptr}})});
  EXPECT_EQ(finish(b), 1);
  expect_end(b, "failed", "invalid_spec");
  EXPECT_NE(b.events().back()["message"].get<std::string>().find("plugin_dir"), std::string::npos);

  WorkerProcess c({"--attempt", spec("test-ok", {{"inputs", {{"nope", "/tmp"}}}})});
  EXPECT_EQ(finish(c), 1);
  expect_end(c, "failed", "invalid_spec");

  WorkerProcess d({"--attempt", spec("test-ok", {{"rank", 2}, {"world_size", 2}})});
  EXPECT_EQ(finish(d), 1);
  expect_end(d, "failed", "invalid_spec");
}

TEST_F(WorkerTest, RanksSeeTheirPlacementAndOnlyRankZeroRegisters) {
  const std::string out = dir_ + "/ranks";
  std::map<std::string, std::string> env = {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "1"},
                                            {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};
  json placement = {{"output_dir", out}, {"world_size", 2}, {"device", "cuda:1"}};
  placement["rank"] = 1;
  placement["local_rank"] = 1;
  WorkerProcess w1({"--attempt", spec("test-ranks", placement)}, env);
  EXPECT_EQ(finish(w1), 0);
  expect_end(w1, "succeeded", "ok");
  EXPECT_TRUE(of_type(w1, "output").empty());

  placement["rank"] = 0;
  placement["local_rank"] = 0;
  env["RANK"] = "0";
  env["LOCAL_RANK"] = "0";
  env["OMP_WAIT_POLICY"] = "ACTIVE";  // a wait policy the user set wins over the worker's spin count
  WorkerProcess w0({"--attempt", spec("test-ranks", placement)}, env);
  EXPECT_EQ(finish(w0), 0);
  auto outputs = of_type(w0, "output");
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0]["path"], out);

  json rank1 = json::parse(std::ifstream(out + "/env-1.json"));
  EXPECT_EQ(rank1["env"]["RANK"], "1");
  EXPECT_EQ(rank1["env"]["MASTER_PORT"], "29500");
  EXPECT_EQ(rank1["host"]["rank"], 1);
  EXPECT_EQ(rank1["host"]["world_size"], 2);
  EXPECT_EQ(rank1["host"]["device"], "cuda:1");
  // Plugins start with a short OpenMP spin unless the environment says otherwise.
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr) {
    EXPECT_EQ(rank1["env"]["GOMP_SPINCOUNT"], "10000");
  }
  json rank0 = json::parse(std::ifstream(out + "/env-0.json"));
  EXPECT_EQ(rank0["env"]["OMP_WAIT_POLICY"], "ACTIVE");
  EXPECT_TRUE(rank0["env"]["GOMP_SPINCOUNT"].is_null() ||
              std::getenv("GOMP_SPINCOUNT") != nullptr);  // not added next to a wait policy
}

TEST_F(WorkerTest, ManyEventsArriveInOrderAcrossBatches) {
  std::ofstream(dir_ + "/table.csv") << "x,y\n0,2\n0.5,3.5\n1,5\n";
  const int epochs = 300;  // 3 metrics a epoch: several 256-event batches
  WorkerProcess w({"--attempt", spec("fit-line", {{"params", {{"epochs", epochs}}},
                                                  {"inputs", {{"table", dir_ + "/table.csv"}}}},
                                     kExamplePlugins)});
  EXPECT_EQ(finish(w), 0);
  expect_end(w, "succeeded", "ok");
  int64_t expected = 0;
  for (const auto& m : of_type(w, "metric")) {
    if (m["name"] != "loss") continue;
    EXPECT_EQ(m["iteration"], expected++);
  }
  EXPECT_EQ(expected, epochs);
}

TEST_F(WorkerTest, KeepsRunningWhenTheDaemonIsGone) {
  WorkerProcess w({"--attempt", spec("test-ok", {{"params", {{"sleep_ms", 200}}}})});
  w.close_events();
  int status = w.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(fs::exists(dir_ + "/out-test-ok/out.txt"));
}

TEST_F(WorkerTest, DescribePrintsTheExamplesDescriptors) {
  for (const std::string name : {"numbers", "fit-line", "evaluate-line"}) {
    WorkerProcess w({"--describe", kExamplePlugins + "/" + name + ".so"});
    const std::string text = w.read_stdout();
    EXPECT_EQ(finish(w), 0) << name;
    json d = json::parse(text, nullptr, false);
    ASSERT_TRUE(d.is_object()) << text;
    EXPECT_EQ(d["name"], name);
    EXPECT_EQ(d["abi_version"], 1);
    EXPECT_FALSE(d["version"].get<std::string>().empty());
    EXPECT_EQ(d["params_schema"]["type"], "object");
    EXPECT_EQ(d["params_schema"]["additionalProperties"], false);
    EXPECT_TRUE(d["params_schema"]["properties"].is_object());
    ASSERT_EQ(d["outputs"].size(), 1u);
    EXPECT_FALSE(d["outputs"][0]["description"].get<std::string>().empty());
    EXPECT_EQ(d["sha256"].get<std::string>().size(), 64u);
  }
}

TEST_F(WorkerTest, DescribeFailureIsAJsonError) {
  WorkerProcess w({"--describe", kTestPlugins + "/test-bad-abi.so"});
  const std::string text = w.read_stdout();
  EXPECT_EQ(finish(w), 2);
  json d = json::parse(text, nullptr, false);
  ASSERT_TRUE(d.is_object()) << text;
  EXPECT_EQ(d["error"]["code"], "abi_mismatch");

  WorkerProcess outside({"--describe", kTestPlugins + "/test-ok.so", "--plugin-dir", kExamplePlugins});
  json e = json::parse(outside.read_stdout(), nullptr, false);
  EXPECT_EQ(finish(outside), 2);
  EXPECT_EQ(e["error"]["code"], "plugin_outside_dir");
}

// test-misbehave writes more to stdout than a pipe holds: read it meanwhile.
int finish_draining_stdout(WorkerProcess& w) {
  std::string out;
  std::thread drain([&] { out = w.read_stdout(); });
  w.read_all();
  const int status = w.wait();
  drain.join();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// The daemon drops event lines over 1 MiB; the worker cuts text so it never gets near.
constexpr size_t kWellUnderTheDaemonsLimit = 512 * 1024;

TEST_F(WorkerTest, HugeLogMessagesAreCutToShortValidLines) {
  WorkerProcess w({"--attempt", spec("test-misbehave", {{"params", {{"mode", "long_line"}}}})});
  EXPECT_EQ(finish_draining_stdout(w), 0);
  expect_end(w, "succeeded", "ok");
  for (const auto& line : w.raw_lines()) {
    EXPECT_LT(line.size(), kWellUnderTheDaemonsLimit);
    EXPECT_TRUE(is_valid_utf8(line));
  }
  bool huge = false;
  for (const auto& log : of_type(w, "log")) {
    const std::string message = log["message"];
    if (message.rfind("huge log: bbbb", 0) != 0) continue;
    huge = true;
    EXPECT_LE(message.size(), 64u * 1024);
    EXPECT_NE(message.find("[truncated]"), std::string::npos);
  }
  EXPECT_TRUE(huge);
}

TEST_F(WorkerTest, AHugeFailureMessageIsCutAndTheEndEventArrives) {
  WorkerProcess w({"--attempt", spec("test-misbehave", {{"params", {{"mode", "huge_failure"}}}})});
  EXPECT_EQ(finish_draining_stdout(w), 1);
  expect_end(w, "failed", "plugin_failed");
  EXPECT_LT(w.raw_lines().back().size(), kWellUnderTheDaemonsLimit);
  const std::string message = w.end_event().value("message", "");
  EXPECT_EQ(message.substr(0, 18), "huge failure: cccc");
  EXPECT_LE(message.size(), 64u * 1024);
}

TEST_F(WorkerTest, IllFormedBytesInEventsBecomeReplacementCharacters) {
  WorkerProcess w({"--attempt", spec("test-misbehave", {{"params", {{"mode", "invalid_utf8"}}}})});
  EXPECT_EQ(finish_draining_stdout(w), 1);
  expect_end(w, "failed", "plugin_failed");
  for (const auto& line : w.raw_lines()) EXPECT_TRUE(is_valid_utf8(line));
  EXPECT_EQ(w.end_event().value("message", ""), "failed with bad bytes \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(WorkerTest, KillsWhatThePluginLeftRunningBeforeItsEndEvent) {
  WorkerProcess w({"--attempt", spec("test-misbehave", {{"params", {{"mode", "setsid_child"}}}})});
  pid_t grandchild = -1;
  ASSERT_TRUE(w.read_until([&](const json& e) {
    const std::string message = e.is_object() ? e.value("message", "") : "";
    if (message.rfind("grandchild pid ", 0) == 0) grandchild = std::stoi(message.substr(15));
    return e.is_object() && e.value("type", "") == "end";
  }));
  ASSERT_GT(grandchild, 0);
  // The end event is written after the worker killed and reaped it: already gone.
  const bool gone = ::kill(grandchild, 0) != 0 && errno == ESRCH;
  if (!gone) ::kill(grandchild, SIGKILL);
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " outlived the attempt";
  bool reported = false;
  for (const auto& log : of_type(w, "log")) {
    reported |= log.value("message", "") == "stopped 1 process(es) the plugin left running";
  }
  EXPECT_TRUE(reported);
  EXPECT_EQ(finish(w), 0);
}

}  // namespace
}  // namespace radflow::test
