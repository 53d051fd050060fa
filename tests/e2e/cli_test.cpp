// The radflow CLI against a real daemon: submit --wait, show, logs, plugins,
// and one-line errors with non-zero exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

CliResult run_cli(int port, const std::string& args) {
  const std::string command = std::string(RADFLOW_CLI_BIN) + " --server http://127.0.0.1:" +
                              std::to_string(port) + " " + args + " 2>&1";
  CliResult result;
  FILE* pipe = popen(command.c_str(), "r");
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(Cli, SubmitWaitShowLogsPlugins) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());

  auto submitted = run_cli(daemon.port(), std::string("submit ") + RADFLOW_DEMO_WORKFLOW + " --wait");
  EXPECT_EQ(submitted.exit_code, 0) << submitted.out;
  EXPECT_NE(submitted.out.find("run 1 submitted"), std::string::npos) << submitted.out;
  EXPECT_NE(submitted.out.find("run 1 succeeded"), std::string::npos) << submitted.out;

  auto show = run_cli(daemon.port(), "show 1");
  EXPECT_EQ(show.exit_code, 0);
  EXPECT_NE(show.out.find("evaluate"), std::string::npos) << show.out;

  auto logs = run_cli(daemon.port(), "logs 1 fit");
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_NE(logs.out.find("attempt 1 succeeded"), std::string::npos) << logs.out;

  auto followed = run_cli(daemon.port(), "logs 1 fit -f");
  EXPECT_EQ(followed.exit_code, 0);
  EXPECT_EQ(followed.out, logs.out);

  auto plugins = run_cli(daemon.port(), "plugins");
  EXPECT_EQ(plugins.exit_code, 0);
  EXPECT_NE(plugins.out.find("fit-line"), std::string::npos);
  EXPECT_NE(plugins.out.find("abi_mismatch"), std::string::npos) << plugins.out;
}

TEST(Cli, ErrorsAreOneLineWithNonZeroExit) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());

  auto missing_file = run_cli(daemon.port(), "submit /nonexistent/flow.json");
  EXPECT_EQ(missing_file.exit_code, 1);
  EXPECT_NE(missing_file.out.find("/nonexistent/flow.json"), std::string::npos);

  auto unknown_run = run_cli(daemon.port(), "show 999");
  EXPECT_EQ(unknown_run.exit_code, 1);
  EXPECT_EQ(unknown_run.out, "radflow: run 999 not found [not_found]\n");

  auto usage = run_cli(daemon.port(), "logs 1");
  EXPECT_EQ(usage.exit_code, 2);

  auto unreachable = run_cli(1, "runs");
  EXPECT_EQ(unreachable.exit_code, 3);
  EXPECT_NE(unreachable.out.find("cannot reach radflowd"), std::string::npos) << unreachable.out;
}

}  // namespace
}  // namespace radflow::test
