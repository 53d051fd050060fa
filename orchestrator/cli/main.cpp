// radflow: the command-line client of radflowd.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "orchestrator/cli/commands.h"

int main(int argc, char** argv) {
  using namespace radflow::cli;
  const char* env_server = std::getenv("RADFLOW_SERVER");
  std::string server = env_server != nullptr && *env_server ? env_server : "http://127.0.0.1:8080";
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--server" && i + 1 < argc) {
      server = argv[++i];
    } else if (a.rfind("--server=", 0) == 0) {
      server = a.substr(9);
    } else if (a == "--cacert" && i + 1 < argc) {
      setenv("RADFLOW_CACERT", argv[++i], 1);  // read by every ApiClient
    } else if (a == "-h" || a == "--help") {
      std::fputs(usage().c_str(), stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("radflow %s\n", RADFLOW_VERSION);
      return 0;
    } else {
      break;
    }
  }
  if (i >= argc) {
    std::fputs(usage().c_str(), stderr);
    return 2;
  }
  const std::string command = argv[i];
  const Args args(argv + i + 1, argv + argc);
  static const std::map<std::string, int (*)(const std::string&, const Args&)> commands = {
      {"submit", submit}, {"validate", validate}, {"runs", runs},       {"show", show},
      {"logs", logs},     {"cancel", cancel},     {"plugins", plugins},
      {"retry", retry},   {"rerun", rerun},       {"image", image},
      {"embed", embed},   {"delete", delete_run}, {"gc", gc},
      {"audit", audit},   {"reproduce", reproduce}, {"report", report},
  };
  auto it = commands.find(command);
  if (it == commands.end()) {
    std::fprintf(stderr, "radflow: unknown command %s (see radflow --help)\n", command.c_str());
    return 2;
  }
  return it->second(server, args);
}
