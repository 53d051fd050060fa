#include "orchestrator/cli/local_plugin_run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/install_layout.h"
#include "orchestrator/cli/cli_util.h"

#ifndef RADFLOW_DEFAULT_PLUGIN_DIR
#define RADFLOW_DEFAULT_PLUGIN_DIR "plugins"
#endif
#ifndef RADFLOW_PLUGIN_DIR_FROM_BIN
#define RADFLOW_PLUGIN_DIR_FROM_BIN "../lib/radflow/plugins"
#endif

namespace radflow::cli {
namespace {

namespace fs = std::filesystem;


std::string self_dir() {
  char buffer[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return ".";
  buffer[n] = '\0';
  return fs::path(buffer).parent_path().string();
}

// Splits what arrived on the events pipe into JSON lines for `on_event`.
void deliver_lines(std::string* pending, const PluginEventHandler& on_event) {
  size_t newline;
  while ((newline = pending->find('\n')) != std::string::npos) {
    const std::string line = pending->substr(0, newline);
    pending->erase(0, newline + 1);
    if (!on_event || line.empty()) continue;
    const nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
    if (!event.is_discarded()) on_event(event);
  }
}

// Runs `worker --attempt spec` with fd 3 on a pipe we read events from, and its
// stdout/stderr in `log`. Returns its exit code, or -1 if it could not run.
int run_worker(const std::string& worker, const std::string& spec, const std::string& log,
               const PluginEventHandler& on_event) {
  int events[2];
  if (pipe2(events, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid < 0) {
    close(events[0]);
    close(events[1]);
    return -1;
  }
  if (pid == 0) {
    // dup2 clears close-on-exec on fd 3; when the pipe already is fd 3, clear it here.
    if (events[1] == 3) {
      if (fcntl(3, F_SETFD, 0) != 0) _exit(127);
    } else if (dup2(events[1], 3) < 0) {
      _exit(127);
    }
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd >= 0) {
      dup2(log_fd, 1);
      dup2(log_fd, 2);
    }
    execl(worker.c_str(), worker.c_str(), "--attempt", spec.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(events[1]);
  std::string pending;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(events[0], buffer, sizeof buffer);
    if (n > 0) {
      pending.append(buffer, static_cast<size_t>(n));
      deliver_lines(&pending, on_event);
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(events[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::string worker_path() { return self_dir() + "/radflow-worker"; }

std::string plugin_dir() {
  const char* env = std::getenv("RADFLOW_PLUGIN_DIR");
  if (env != nullptr && *env) return env;
  return default_plugin_dir(self_dir(), RADFLOW_PLUGIN_DIR_FROM_BIN, RADFLOW_DEFAULT_PLUGIN_DIR);
}

Status run_local_plugin(const LocalPluginRequest& request, const PluginEventHandler& on_event,
                        LocalPluginRun* run) {
  const std::string plugins = plugin_dir();
  const std::string plugin = plugins + "/" + request.plugin + ".so";
  if (!fs::exists(plugin)) {
    return failed("plugin not found: " + plugin +
                  (request.missing_hint.empty() ? " (set RADFLOW_PLUGIN_DIR)" : " (" + request.missing_hint + ")"));
  }
  const std::string worker = worker_path();
  if (access(worker.c_str(), X_OK) != 0) return failed("radflow-worker not found beside radflow: " + worker);

  std::string pattern = (fs::temp_directory_path() / ("radflow-" + request.plugin + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) return failed("cannot create a temp folder");
  run->work_dir = pattern;
  run->output_dir = run->work_dir + "/out";
  fs::create_directory(run->output_dir);

  const std::string spec_path = run->work_dir + "/spec.json";
  const std::string result_path = run->work_dir + "/result.json";
  const nlohmann::json spec = {{"plugin_path", plugin},         {"plugin_dir", plugins},
                               {"plugin_name", request.plugin}, {"params", request.params},
                               {"inputs", request.inputs},      {"output_dir", run->output_dir},
                               {"events_fd", 3},                {"result_path", result_path}};
  std::ofstream(spec_path) << spec.dump();
  const int code = run_worker(worker, spec_path, run->work_dir + "/worker.log", on_event);
  if (code < 0) return failed("cannot run " + worker);

  std::ifstream result_file(result_path);
  const nlohmann::json result = nlohmann::json::parse(result_file, nullptr, false);
  if (result.is_discarded() || !result.contains("end")) {
    return failed("radflow-worker exited with code " + std::to_string(code) + " and no result");
  }
  const nlohmann::json& end = result["end"];
  if (end.value("status", "") != "succeeded") {
    const std::string message = end.value("message", "");
    return failed(message.empty() ? request.plugin + " " + end.value("status", "failed") + " (" +
                                        end.value("reason", "") + ")"
                                  : message);
  }
  return Status();
}

}  // namespace radflow::cli
