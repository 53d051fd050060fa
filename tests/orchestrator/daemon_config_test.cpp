// radflowd --config: the file and the flags go through one table of settings, so
// every flag is a config key, the same values give the same settings, flags win,
// and a bad file is refused naming the key and the reason.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <regex>
#include <set>

#include "orchestrator/daemon/daemon_options.h"
#include "tests/orchestrator/daemon_args.h"

namespace radflow {
namespace {

using nlohmann::json;

using testing_daemon::parse;

Result<DaemonOptions> from_config(const std::string& text) {
  DaemonOptions options;
  RF_RETURN_IF_ERROR(apply_daemon_config(text, "test.json", &options));
  return options;
}

// For each flag: its text on the command line and the same value in a config file.
// A new setting must be added here, or EveryFlagIsAConfigKey fails.
const std::map<std::string, std::pair<std::vector<std::string>, json>>& samples() {
  static const std::map<std::string, std::pair<std::vector<std::string>, json>> table = {
      {"--data-dir", {{"/srv/d"}, "/srv/d"}},
      {"--listen", {{"0.0.0.0:9001"}, "0.0.0.0:9001"}},
      {"--plugin-dir", {{"/p"}, "/p"}},
      {"--data-root", {{"/data", "/models"}, json::array({"/data", "/models"})}},
      {"--no-confine", {{}, false}},
      {"--no-fork-server", {{}, false}},
      {"--gpus", {{"0,2"}, "0,2"}},
      {"--cpus", {{"6"}, 6}},
      {"--grace-s", {{"2.5"}, 2.5}},
      {"--worker", {{"/w"}, "/w"}},
      {"--log-level", {{"debug"}, "debug"}},
      {"--max-body-mib", {{"2"}, 2}},
      {"--http-threads", {{"20"}, 20}},
      {"--max-streams", {{"9"}, 9}},
      {"--max-streams-per-client", {{"3"}, 3}},
      {"--max-ranks", {{"16"}, 16}},
      {"--max-log-mib", {{"0.5"}, 0.5}},
      {"--pass-env", {{"HF_HOME,WANDB_DIR"}, json::array({"HF_HOME", "WANDB_DIR"})}},
      {"--allowed-host", {{"gpu1.lab", "gpu1"}, json::array({"gpu1.lab", "gpu1"})}},
      {"--tls-cert", {{"/c.pem"}, "/c.pem"}},
      {"--tls-key", {{"/k.pem"}, "/k.pem"}},
      {"--executor", {{"slurm"}, "slurm"}},
      {"--slurm-partition", {{"gpu"}, "gpu"}},
      {"--slurm-account", {{"radiology"}, "radiology"}},
      {"--slurm-sbatch-arg", {{"--qos=high", "--exclusive"}, json::array({"--qos=high", "--exclusive"})}},
      {"--slurm-report-url", {{"http://head01:8080"}, "http://head01:8080"}},
      {"--slurm-poll-s", {{"0.5"}, 0.5}},
  };
  return table;
}

// The flags as a command line: repeatable ones once per value.
std::vector<std::string> as_flags(const std::string& flag, const std::vector<std::string>& values) {
  std::vector<std::string> args;
  if (values.empty()) args.push_back(flag);
  for (const auto& v : values) {
    args.push_back(flag);
    args.push_back(v);
  }
  return args;
}

TEST(DaemonConfig, EveryFlagIsAConfigKey) {
  std::set<std::string> keys;
  json config = json::object();
  std::vector<std::string> flags;
  for (const auto& option : daemon_option_table()) {
    ASSERT_EQ(std::string(option.flag).rfind("--", 0), 0u) << option.flag;
    ASSERT_TRUE(keys.insert(option.key).second) << "key used twice: " << option.key;
    auto sample = samples().find(option.flag);
    ASSERT_NE(sample, samples().end()) << option.flag << " has no sample in this test";
    config[option.key] = sample->second.second;
    auto args = as_flags(option.flag, sample->second.first);
    flags.insert(flags.end(), args.begin(), args.end());
  }
  EXPECT_EQ(keys.size(), samples().size());
  // Every flag --help mentions is a setting of the table or one of the commands.
  const std::set<std::string> commands = {"--config", "--check-config", "--help", "--version",
                                          "--role", "--data-dir"};
  const std::string usage = daemon_usage();
  std::set<std::string> table_flags;
  for (const auto& option : daemon_option_table()) table_flags.insert(option.flag);
  const std::regex flag_re("--[a-z][a-z-]*");
  for (auto it = std::sregex_iterator(usage.begin(), usage.end(), flag_re);
       it != std::sregex_iterator(); ++it) {
    const std::string flag = it->str();
    EXPECT_TRUE(table_flags.count(flag) || commands.count(flag)) << "--help names " << flag;
  }
  for (const auto& flag : table_flags) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag << " missing from --help";
  }
  // All of them at once: the file and the flags give the same settings.
  auto by_flags = parse(flags);
  ASSERT_TRUE(by_flags.ok()) << by_flags.status().to_string();
  auto by_file = from_config(config.dump());
  ASSERT_TRUE(by_file.ok()) << by_file.status().to_string();
  EXPECT_EQ(daemon_settings_json(*by_flags), daemon_settings_json(*by_file));
  EXPECT_EQ(json::parse(daemon_settings_json(*by_file)), config);
  EXPECT_FALSE(by_file->confine);
  EXPECT_EQ(by_file->port, 9001);
  EXPECT_EQ(by_file->data_roots, (std::vector<std::string>{"/data", "/models"}));
}

TEST(DaemonConfig, SettingsJsonReadsBackUnchanged) {
  DaemonOptions defaults;
  const std::string printed = daemon_settings_json(defaults);
  auto again = from_config(printed);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(daemon_settings_json(*again), printed);
}

TEST(DaemonConfig, FlagsWinAndAFlagListReplacesTheFilesList) {
  const std::string file = ::testing::TempDir() + "/radflowd-flags-win.json";
  {
    FILE* out = std::fopen(file.c_str(), "w");
    std::fputs(R"({
      // comments are allowed
      "max_ranks": 8, /* and block comments */
      "data_roots": ["/a", "/b"],
      "allowed_hosts": ["x.lab"],
      "cpus": 3
    })", out);
    std::fclose(out);
  }
  auto parsed = parse({"--max-ranks", "16", "--config", file, "--data-root", "/c"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->max_ranks, 16);  // the flag, though --config came after it
  EXPECT_EQ(parsed->data_roots, (std::vector<std::string>{"/c"}));
  EXPECT_EQ(parsed->allowed_hosts, (std::vector<std::string>{"x.lab"}));  // from the file
  EXPECT_DOUBLE_EQ(parsed->cpus, 3);
  EXPECT_EQ(parsed->config_file, file);
  auto missing = parse({"--config", file + ".absent"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(".absent"), std::string::npos);
}

TEST(DaemonConfig, BadConfigNamesTheKeyAndTheReason) {
  struct Case {
    const char* text;
    const char* path;
    const char* says;
  };
  const std::vector<Case> cases = {
      {R"({"max_rank": 8})", "/max_rank", "unknown key \"max_rank\""},
      {R"({"max_ranks": "8"})", "/max_ranks", "must be a whole number from 1 to 1000000, got string"},
      {R"({"max_ranks": 0})", "/max_ranks", "must be a whole number from 1 to 1000000, got integer 0"},
      {R"({"max_body_mib": 0})", "/max_body_mib", "greater than 0"},
      {R"({"confine": "no"})", "/confine", "must be true or false"},
      {R"({"data_roots": "/data"})", "/data_roots", "must be an array"},
      {R"({"pass_env": ["A=1"]})", "/pass_env", "variable names"},
      {R"({"log_level": "loud"})", "/log_level", "trace, debug"},
      {R"({"gpus": "two"})", "/gpus", "auto, none"},
      {R"({"listen": "8080"})", "/listen", "HOST:PORT"},
      {R"({"listen": 8080})", "/listen", "HOST:PORT"},
      {R"([1, 2])", "--config", "one JSON object"},
      {R"({"max_ranks": 8)", "--config", "one JSON object"},
  };
  for (const auto& c : cases) {
    auto result = from_config(c.text);
    ASSERT_FALSE(result.ok()) << c.text;
    EXPECT_EQ(result.status().err().code, "bad_config") << c.text;
    EXPECT_EQ(result.status().err().path, c.path) << c.text;
    EXPECT_NE(result.status().message().find(c.says), std::string::npos)
        << c.text << ": " << result.status().message();
    EXPECT_NE(result.status().message().find("test.json"), std::string::npos) << c.text;
  }
}

TEST(DaemonConfig, TlsPairIsCheckedAfterFileAndFlags) {
  const std::string file = ::testing::TempDir() + "/radflowd-tls.json";
  FILE* out = std::fopen(file.c_str(), "w");
  std::fputs(R"({"tls_cert": "/c.pem"})", out);
  std::fclose(out);
  EXPECT_FALSE(parse({"--config", file}).ok());
  EXPECT_TRUE(parse({"--config", file, "--tls-key", "/k.pem"}).ok());
}

}  // namespace
}  // namespace radflow
