// parse(): radflowd's command line parsed as main() does, argv[0] added. Shared by the
// daemon option and config-file tests.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "orchestrator/daemon/daemon_options.h"

namespace radflow::testing_daemon {

inline Result<DaemonOptions> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "radflowd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_daemon_options(static_cast<int>(argv.size()), argv.data());
}

}  // namespace radflow::testing_daemon
