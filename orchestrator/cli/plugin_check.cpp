// `radflow plugins check FILE.so`: what radflow-worker's loader says about one file.
// The CLI never dlopens a plugin itself (a broken one could crash it): the worker
// does, with --describe, and the JSON it prints is read back here.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/cli/cli_util.h"
#include "orchestrator/cli/local_plugin_run.h"
#include "orchestrator/cli/plugin_commands.h"
#include "orchestrator/workflow/json_schema.h"

extern char** environ;

namespace radflow::cli {
namespace {

namespace fs = std::filesystem;

const char* kCheckUsage =
    "usage: radflow plugins check FILE.so\n\n"
    "Loads FILE through radflow-worker (in its own process, as the daemon would) and\n"
    "prints its ABI version, name, version, whether its params schema is usable, and\n"
    "its inputs and outputs; or the loader's error code and message. Needs no server.\n\n"
    "Exit codes: 0 the plugin is usable, 1 it is broken (code printed: dlopen_failed,\n"
    "missing_entry_symbol, abi_mismatch, struct_size_mismatch, invalid_name,\n"
    "invalid_descriptor, ...; docs/plugins.md lists them), 2 usage error or no worker.\n";

// Runs argv, returning its stdout; *exit_code gets its exit status (-1: not run).
std::string run_capture(const std::vector<std::string>& argv, int* exit_code) {
  *exit_code = -1;
  int out[2];
  if (pipe(out) != 0) return "";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  std::string text;
  char buffer[4096];
  ssize_t n;
  while (spawned == 0 && ((n = read(out[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))) {
    if (n > 0) text.append(buffer, static_cast<size_t>(n));
  }
  close(out[0]);
  if (spawned != 0) return "";
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return text;
}

std::string port_list(const nlohmann::json& ports) {
  if (!ports.is_array() || ports.empty()) return "  (none)\n";
  std::string out;
  for (const auto& p : ports) {
    out += "  " + p.value("name", "") + (p.value("optional", false) ? " (optional)" : "") +
           (p.value("description", "").empty() ? "" : ": " + p.value("description", "")) + "\n";
  }
  return out;
}

// Problems the daemon would hit with this schema: a keyword it cannot use (a
// pattern that does not compile), or defaults that fail the schema's own rules, so
// that a workflow leaving the param out would be refused.
std::vector<std::string> schema_problems(const nlohmann::json& schema) {
  nlohmann::json params = nlohmann::json::object();
  fill_defaults(&params, schema);
  std::vector<Error> errors;
  validate_against_schema(params, schema, "/params", &errors);
  std::vector<std::string> problems;
  for (const Error& e : errors) {
    if (e.code == "param_required") continue;  // a required param has no default: fine
    problems.push_back(e.code + " at " + e.path + ": " + e.message);
  }
  if (schema.value("type", "object") != "object") {
    problems.push_back("params_schema type must be \"object\"");
  }
  return problems;
}

}  // namespace

int plugins_check(const Args& args) {
  if (wants_help(args)) {
    std::fputs(kCheckUsage, stdout);
    return kOk;
  }
  if (args.size() != 1) return usage_error("plugins check needs one FILE.so", "plugins check");
  std::error_code ec;
  const fs::path file = fs::absolute(args[0], ec);
  if (!fs::is_regular_file(file, ec)) {
    std::fprintf(stderr, "radflow: %s is not a file\n", file.c_str());
    return kUsage;
  }
  const std::string worker = worker_path();
  if (access(worker.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "radflow: radflow-worker not found beside radflow: %s\n", worker.c_str());
    return kUsage;
  }
  int code = -1;
  const std::string text = run_capture(
      {worker, "--describe", file.string(), "--plugin-dir", file.parent_path().string()}, &code);
  const nlohmann::json reply = nlohmann::json::parse(text, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) {
    // The loader ran the plugin's static initialisers: one may have crashed the worker.
    std::printf("%s: broken: worker_crashed: radflow-worker --describe exited with %d and "
                "printed no descriptor\n", file.c_str(), code);
    return kFailed;
  }
  if (reply.contains("error")) {
    const nlohmann::json& error = reply["error"];
    std::printf("%s: broken: %s: %s\n", file.c_str(), error.value("code", "").c_str(),
                error.value("message", "").c_str());
    return kFailed;
  }
  const std::string name = reply.value("name", "");
  std::printf("file:         %s\nsha256:       %s\nabi_version:  %d\nname:         %s\n"
              "version:      %s\ndescription:  %s\n",
              reply.value("path", file.string()).c_str(), reply.value("sha256", "").c_str(),
              reply.value("abi_version", 0), name.c_str(), reply.value("version", "").c_str(),
              reply.value("description", "").c_str());
  const std::vector<std::string> problems = schema_problems(reply.value("params_schema", nlohmann::json::object()));
  std::printf("params schema: %s\n", problems.empty() ? "valid" : "INVALID");
  for (const std::string& p : problems) std::printf("  %s\n", p.c_str());
  std::printf("inputs:\n%soutputs:\n%s", port_list(reply["inputs"]).c_str(),
              port_list(reply["outputs"]).c_str());
  if (file.stem().string() != name) {
    std::printf("warning: the file is called %s; name it %s.so so that a daemon that cannot "
                "load it reports the steps that use it as plugin_broken\n",
                file.filename().c_str(), name.c_str());
  }
  if (!problems.empty()) {
    std::printf("%s: broken: invalid_schema: the params schema cannot be used as written\n",
                file.c_str());
    return kFailed;
  }
  std::printf("%s: ok\n", file.c_str());
  return kOk;
}

}  // namespace radflow::cli
