#include "orchestrator/daemon/daemon_options.h"
#include "orchestrator/daemon/slurm_wiring.h"
#include "tests/orchestrator/daemon_args.h"

#include <gtest/gtest.h>

namespace radflow {
namespace {

using testing_daemon::parse;

TEST(DaemonOptions, Defaults) {
  auto options = parse({});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->data_dir, "var");
  EXPECT_EQ(options->host, "127.0.0.1");
  EXPECT_EQ(options->port, 8080);
  EXPECT_EQ(options->gpus, "auto");
}

TEST(DaemonOptions, ParsesEveryFlag) {
  auto options = parse({"--data-dir", "/d", "--listen", "0.0.0.0:9000", "--plugin-dir", "/p",
                        "--gpus", "0,2", "--cpus", "6", "--grace-s", "2.5"});
  ASSERT_TRUE(options.ok()) << options.status().to_string();
  EXPECT_EQ(options->data_dir, "/d");
  EXPECT_EQ(options->host, "0.0.0.0");
  EXPECT_EQ(options->port, 9000);
  EXPECT_EQ(options->plugin_dir, "/p");
  EXPECT_DOUBLE_EQ(options->cpus, 6);
  EXPECT_DOUBLE_EQ(options->grace_s, 2.5);
}

TEST(DaemonOptions, ErrorsNameTheFlag) {
  auto bad_listen = parse({"--listen", "8080"});
  ASSERT_FALSE(bad_listen.ok());
  EXPECT_EQ(bad_listen.status().err().path, "--listen");
  auto unknown = parse({"--colour"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("--colour"), std::string::npos);
  auto missing = parse({"--cpus"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("needs a value"), std::string::npos);
}

TEST(DaemonOptions, LimitsAndPassEnvAreParsedAndCheckedByName) {
  auto parsed = parse({"--max-body-mib", "2", "--max-streams", "9", "--max-streams-per-client",
                       "3", "--max-ranks", "16", "--max-log-mib", "0.5", "--http-threads", "20",
                       "--pass-env", "HF_HOME,WANDB_DIR", "--pass-env", "XDG_CACHE_HOME"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_DOUBLE_EQ(parsed->max_body_mib, 2);
  EXPECT_EQ(parsed->max_streams, 9);
  EXPECT_EQ(parsed->max_streams_per_client, 3);
  EXPECT_EQ(parsed->max_ranks, 16);
  EXPECT_DOUBLE_EQ(parsed->max_log_mib, 0.5);
  EXPECT_EQ(parsed->http_threads, 20);
  EXPECT_EQ(parsed->pass_env, (std::vector<std::string>{"HF_HOME", "WANDB_DIR", "XDG_CACHE_HOME"}));
  for (const auto& bad : std::vector<std::vector<std::string>>{{"--max-ranks", "0"},
                                                              {"--max-streams", "2.5"},
                                                              {"--max-body-mib", "0"},
                                                              {"--http-threads", "1"},
                                                              {"--pass-env", "A=1"}}) {
    auto refused = parse(bad);
    ASSERT_FALSE(refused.ok()) << bad[0] << " " << bad[1];
    EXPECT_EQ(refused.status().err().path, bad[0]);
  }
}

TEST(ResolveGpus, CountListAndNone) {
  EXPECT_EQ(*resolve_gpus("3"), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(*resolve_gpus("0,2,5"), (std::vector<int>{0, 2, 5}));
  EXPECT_TRUE(resolve_gpus("none")->empty());
  EXPECT_FALSE(resolve_gpus("0,0").ok());
  EXPECT_FALSE(resolve_gpus("two").ok());
  EXPECT_FALSE(resolve_gpus("-1").ok());
}

}  // namespace
}  // namespace radflow

namespace radflow {
namespace {

TEST(DaemonOptions, SlurmSettingsAndTheUrlTheNodesReportTo) {
  auto options = parse({"--executor", "slurm", "--slurm-partition", "gpu", "--slurm-sbatch-arg",
                        "--qos=high", "--slurm-sbatch-arg", "--exclusive", "--listen",
                        "10.0.0.5:9000"});
  ASSERT_TRUE(options.ok()) << options.status().to_string();
  EXPECT_EQ(options->executor, "slurm");
  EXPECT_EQ(options->slurm_partition, "gpu");
  EXPECT_EQ(options->slurm_sbatch_args, (std::vector<std::string>{"--qos=high", "--exclusive"}));
  EXPECT_EQ(slurm_report_url(*options, 9000), "http://10.0.0.5:9000");
  options->slurm_report_url = "https://head01.cluster:8443/";
  EXPECT_EQ(slurm_report_url(*options, 9000), "https://head01.cluster:8443");
  EXPECT_EQ(url_host("https://head01.cluster:8443/x"), "head01.cluster");
  EXPECT_EQ(url_host("http://[::1]:80"), "::1");

  auto unknown = parse({"--executor", "kubernetes"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().err().path, "--executor");
  EXPECT_NE(unknown.status().message().find("local or slurm"), std::string::npos);
}

}  // namespace
}  // namespace radflow
