// SlurmDaemonTest: a gtest fixture holding a local Slurm (local_slurm.h) and a real
// radflowd on a fresh data folder (tests/e2e/daemon_fixture.h) whose Slurm client
// commands reach that cluster (SLURM_CONF). Each test is skipped with the reason
// where Slurm cannot start. Not thread-safe.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/daemon_fixture.h"
#include "tests/slurm/local_slurm.h"

namespace radflow::test {

class SlurmDaemonTest : public ::testing::Test {
 protected:
  // radflowd's flags beyond --data-dir, --plugin-dir and --listen.
  explicit SlurmDaemonTest(std::vector<std::string> daemon_args)
      : daemon_args_(std::move(daemon_args)) {}

  void SetUp() override {
    std::string why_not;
    slurm_ = LocalSlurm::start(&why_not);
    if (!slurm_) GTEST_SKIP() << "local Slurm unavailable: " << why_not;
    // radflowd passes its own SLURM_CONF on to sbatch, squeue and scancel.
    setenv("SLURM_CONF", slurm_->conf_path().c_str(), 1);
    daemon_ = start_daemon();
  }
  void TearDown() override {
    daemon_.reset();
    unsetenv("SLURM_CONF");
  }

  // On `port` when given: a restarted daemon keeps its address, which the running
  // job's workers post to.
  std::unique_ptr<Daemon> start_daemon(int port = 0) {
    return std::make_unique<Daemon>(dirs_.data_dir(), dirs_.plugin_dir(), daemon_args_, port);
  }

  const std::vector<std::string> daemon_args_;
  std::unique_ptr<LocalSlurm> slurm_;
  DaemonFixtureDirs dirs_;
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace radflow::test
