// `radflow plugins new NAME` and `radflow plugins reload`.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/plugin_name.h"
#include "orchestrator/cli/api_client.h"
#include "orchestrator/cli/cli_util.h"
#include "orchestrator/cli/plugin_commands.h"
#include "orchestrator/cli/plugin_template.h"

namespace radflow::cli {
namespace {

namespace fs = std::filesystem;

const char* kNewUsage =
    "usage: radflow plugins new NAME [--kind evaluation|data|trainer] [--dir DIR]\n\n"
    "Writes DIR/NAME (DIR defaults to the current folder): CMakeLists.txt using\n"
    "find_package(radflow), NAME.cpp (params schema, inputs, outputs, metrics,\n"
    "progress, cancellation), NAME_test.cpp (GoogleTest with radflow's test harness)\n"
    "and README.md. It builds and its test passes as written:\n"
    "  cmake -S DIR/NAME -B build -DCMAKE_PREFIX_PATH=<radflow prefix> && cmake --build build\n"
    "  ctest --test-dir build\n"
    "NAME must match [a-z0-9][a-z0-9-]*. --kind defaults to evaluation.\n"
    "Exit codes: 0 written, 1 DIR/NAME exists or cannot be written, 2 usage error.\n";

bool is_kind(const std::string& kind) {
  for (const std::string& k : plugin_kinds()) {
    if (k == kind) return true;
  }
  return false;
}

}  // namespace

int plugins_new(const Args& args) {
  if (wants_help(args)) {
    std::fputs(kNewUsage, stdout);
    return kOk;
  }
  std::string name, kind = "evaluation", dir = ".";
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--kind" || args[i] == "--dir") && i + 1 < args.size()) {
      (args[i] == "--kind" ? kind : dir) = args[++i];
    } else if (name.empty() && !args[i].empty() && args[i][0] != '-') {
      name = args[i];
    } else {
      return usage_error("unexpected argument " + args[i], "plugins new");
    }
  }
  if (name.empty()) return usage_error("plugins new needs a NAME", "plugins new");
  if (!is_valid_plugin_name(name)) {
    return usage_error("plugin name '" + name + "' must match [a-z0-9][a-z0-9-]* (lower-case "
                       "letters, digits, dashes)", "plugins new");
  }
  if (!is_kind(kind)) {
    return usage_error("--kind must be evaluation, data or trainer; got '" + kind + "'",
                       "plugins new");
  }
  const fs::path project = fs::path(dir) / name;
  std::error_code ec;
  if (fs::exists(project, ec)) {
    std::fprintf(stderr, "radflow: %s already exists; choose another --dir or remove it\n",
                 project.c_str());
    return kFailed;
  }
  fs::create_directories(project, ec);
  if (ec) {
    std::fprintf(stderr, "radflow: cannot create %s: %s\n", project.c_str(), ec.message().c_str());
    return kFailed;
  }
  for (const auto& [file, content] : plugin_project_files(name, kind)) {
    std::ofstream out(project / file);
    out << content;
    if (!out.flush()) {
      std::fprintf(stderr, "radflow: cannot write %s\n", (project / file).c_str());
      return kFailed;
    }
  }
  std::printf("wrote %s (%s plugin): CMakeLists.txt, %s.cpp, %s_test.cpp, README.md\n"
              "build: cmake -S %s -B %s/build -DCMAKE_PREFIX_PATH=<radflow prefix> && "
              "cmake --build %s/build && ctest --test-dir %s/build\n",
              project.c_str(), kind.c_str(), name.c_str(), name.c_str(), project.c_str(),
              project.c_str(), project.c_str(), project.c_str());
  return kOk;
}

int plugins_reload(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts("usage: radflow plugins reload\n\nMakes the server rescan its plugin folder now "
              "(added, replaced and removed libraries) and prints what it found. Needs an "
              "admin token on a server with tokens.");
    return kOk;
  }
  if (!args.empty()) return usage_error("plugins reload takes no arguments", "plugins reload");
  ApiClient client(server);
  auto reply = client.post("/api/v1/plugins/reload", "{}");
  if (!reply.ok()) return report(reply.status());
  std::printf("%zu plugin(s), %zu broken\n", (*reply)["plugins"].size(), (*reply)["broken"].size());
  for (const auto& b : (*reply)["broken"]) {
    std::printf("cannot load %s: %s [%s]\n", b.value("path", "").c_str(),
                b.value("message", "").c_str(), b.value("code", "").c_str());
  }
  return kOk;
}

}  // namespace radflow::cli
