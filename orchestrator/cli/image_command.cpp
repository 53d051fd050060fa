// radflow image info|convert: runs the image-tools plugin locally through
// radflow-worker (no daemon), so that the CLI links no image or ML library.
// The worker is found beside this binary; the plugin in RADFLOW_DEFAULT_PLUGIN_DIR
// (overridable with RADFLOW_PLUGIN_DIR).
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "orchestrator/cli/cli_util.h"
#include "orchestrator/cli/commands.h"

#ifndef RADFLOW_DEFAULT_PLUGIN_DIR
#define RADFLOW_DEFAULT_PLUGIN_DIR "plugins"
#endif

namespace radflow::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kImageUsage =
    "usage: radflow image info FILE\n"
    "       radflow image convert FILE OUT.png|OUT.npy\n"
    "\n"
    "Reads a DICOM (any common transfer syntax), PNG or JPEG file locally, without a\n"
    "server, by running the image-tools plugin through radflow-worker.\n"
    "  info     print modality, size, bits, photometric interpretation, transfer syntax,\n"
    "           rescale and window as JSON\n"
    "  convert  OUT.png: frame 0, windowed (file window, else min-max), MONOCHROME1\n"
    "           inverted, 16-bit; OUT.npy: float32 modality values (after rescale, before\n"
    "           inversion or window) of frame 0, rows x columns (x 3 for colour)\n";
constexpr const char* kInfoUsage =
    "usage: radflow image info FILE\n"
    "Prints the image's header as JSON: modality, rows, columns, frames, bits,\n"
    "photometric interpretation, transfer syntax, rescale slope/intercept, window.\n";
constexpr const char* kConvertUsage =
    "usage: radflow image convert FILE OUT.png|OUT.npy\n"
    "OUT.png: frame 0 windowed (file window, else min-max), MONOCHROME1 inverted, 16-bit.\n"
    "OUT.npy: float32 values of frame 0 after the modality LUT, before inversion/window,\n"
    "rows x columns (x 3 for colour).\n";

Status failed(const std::string& message) { return Status::error("failed", message); }

std::string self_dir() {
  char buffer[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return ".";
  buffer[n] = '\0';
  return fs::path(buffer).parent_path().string();
}

std::string plugin_dir() {
  const char* env = std::getenv("RADFLOW_PLUGIN_DIR");
  return env != nullptr && *env ? env : RADFLOW_DEFAULT_PLUGIN_DIR;
}

// Runs `worker --attempt spec` with fd 3 (the events channel, unused here) on
// /dev/null and its stdout/stderr in `log` (the end event's message is what the user
// sees), and returns its exit code, or -1 if it could not run.
int run_worker(const std::string& worker, const std::string& spec, const std::string& log) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd < 0 || dup2(null_fd, 3) < 0) _exit(127);
    if (null_fd != 3) close(null_fd);
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (log_fd >= 0) {
      dup2(log_fd, 1);
      dup2(log_fd, 2);
      close(log_fd);
    }
    execl(worker.c_str(), worker.c_str(), "--attempt", spec.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs image-tools with `params` in a temp folder; on success *output_dir holds its
// files (the caller removes *work_dir).
Status run_image_tools(const nlohmann::json& params, std::string* work_dir, std::string* output_dir) {
  std::string pattern = (fs::temp_directory_path() / "radflow-image-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return failed("cannot create a temp folder");
  *work_dir = pattern;
  *output_dir = *work_dir + "/out";
  fs::create_directory(*output_dir);
  const std::string plugins = plugin_dir();
  const std::string plugin = plugins + "/image-tools.so";
  if (!fs::exists(plugin)) return failed("plugin not found: " + plugin + " (set RADFLOW_PLUGIN_DIR)");
  const std::string worker = self_dir() + "/radflow-worker";
  if (access(worker.c_str(), X_OK) != 0) return failed("radflow-worker not found beside radflow: " + worker);

  const std::string spec_path = *work_dir + "/spec.json";
  const std::string result_path = *work_dir + "/result.json";
  const nlohmann::json spec = {{"plugin_path", plugin},     {"plugin_dir", plugins},
                               {"plugin_name", "image-tools"}, {"params", params},
                               {"output_dir", *output_dir}, {"events_fd", 3},
                               {"result_path", result_path}};
  std::ofstream(spec_path) << spec.dump();
  const int code = run_worker(worker, spec_path, *work_dir + "/worker.log");
  if (code < 0) return failed("cannot run " + worker);

  std::ifstream result_file(result_path);
  const nlohmann::json result = nlohmann::json::parse(result_file, nullptr, false);
  if (result.is_discarded() || !result.contains("end")) {
    return failed("radflow-worker exited with code " + std::to_string(code) + " and no result");
  }
  const nlohmann::json& end = result["end"];
  if (end.value("status", "") != "succeeded") {
    const std::string message = end.value("message", "");
    return failed(message.empty() ? "image-tools " + end.value("status", "failed") + " (" +
                                        end.value("reason", "") + ")"
                                  : message);
  }
  return Status();
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  const fs::path abs = fs::absolute(path, ec);
  return ec ? path : abs.string();
}

int info(const Args& args) {
  if (wants_help(args)) return std::fputs(kInfoUsage, stdout), kOk;
  if (args.size() != 1) return usage_error("image info takes one FILE", "image");
  std::string work_dir, output_dir;
  Status status = run_image_tools({{"command", "info"}, {"path", absolute(args[0])}}, &work_dir, &output_dir);
  if (status.ok()) {
    std::ifstream in(output_dir + "/info.json");
    std::fputs(std::string(std::istreambuf_iterator<char>(in), {}).c_str(), stdout);
  }
  std::error_code ec;
  if (!work_dir.empty()) fs::remove_all(work_dir, ec);
  return status.ok() ? kOk : report(status);
}

int convert(const Args& args) {
  if (wants_help(args)) return std::fputs(kConvertUsage, stdout), kOk;
  if (args.size() != 2) return usage_error("image convert takes FILE and OUT", "image");
  const std::string out = args[1];
  const std::string extension = fs::path(out).extension().string();
  if (extension != ".png" && extension != ".npy") {
    return usage_error("OUT must end in .png or .npy", "image");
  }
  const std::string name = std::string("image") + extension;
  std::string work_dir, output_dir;
  Status status = run_image_tools({{"command", "convert"}, {"path", absolute(args[0])}, {"out", name}},
                                  &work_dir, &output_dir);
  if (status.ok()) {
    std::error_code ec;
    fs::copy_file(output_dir + "/" + name, out, fs::copy_options::overwrite_existing, ec);
    if (ec) status = failed("cannot write " + out + ": " + ec.message());
  }
  std::error_code ec;
  if (!work_dir.empty()) fs::remove_all(work_dir, ec);
  return status.ok() ? kOk : report(status);
}

}  // namespace

int image(const std::string& /*server*/, const Args& args) {
  if (args.empty()) return std::fputs(kImageUsage, stderr), kUsage;
  const std::string sub = args[0];
  const Args rest(args.begin() + 1, args.end());
  if (sub == "-h" || sub == "--help") return std::fputs(kImageUsage, stdout), kOk;
  if (sub == "info") return info(rest);
  if (sub == "convert") return convert(rest);
  return usage_error("unknown image command " + sub, "image");
}

}  // namespace radflow::cli
