// system_confinement(): what every worker may use besides its attempt's paths. The
// loaded libraries' folders are looked up once per process (a fork server does it
// before forking); $LD_LIBRARY_PATH is read at every call, because a forked worker
// gets its environment after the fork.
#include "orchestrator/executor/landlock.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace radflow {
namespace {

bool holds(const std::vector<std::string>& paths, const std::string& path) {
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

TEST(SystemConfinement, KeepsTheLoadedLibrariesAndReadsLdLibraryPathAtEachCall) {
  warm_system_confinement();
  unsetenv("LD_LIBRARY_PATH");
  const Confinement plain = system_confinement();
  EXPECT_TRUE(holds(plain.read_exec, "/usr"));
  EXPECT_TRUE(holds(plain.read, "/proc"));
  EXPECT_TRUE(holds(plain.read_write, "/dev/null"));
  EXPECT_FALSE(holds(plain.read_exec, "/opt/radflow-test-libs"));

  setenv("LD_LIBRARY_PATH", "/opt/radflow-test-libs:relative/ignored:/usr", 1);
  const Confinement with_path = system_confinement();
  unsetenv("LD_LIBRARY_PATH");
  EXPECT_TRUE(holds(with_path.read_exec, "/opt/radflow-test-libs"));
  EXPECT_FALSE(holds(with_path.read_exec, "relative/ignored"));
  EXPECT_EQ(std::count(with_path.read_exec.begin(), with_path.read_exec.end(), "/usr"), 1);
  // The same libraries either way: only the variable's folders were added.
  EXPECT_EQ(with_path.read_exec.size(), plain.read_exec.size() + 1);

  const Confinement again = system_confinement();
  EXPECT_EQ(again.read_exec, plain.read_exec);
}

}  // namespace
}  // namespace radflow
