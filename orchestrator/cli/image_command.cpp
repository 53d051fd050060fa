// radflow image info|convert: runs the image-tools plugin locally through
// radflow-worker (no daemon; local_plugin_run.h), so that the CLI links no image or
// ML library.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "orchestrator/cli/cli_util.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/local_plugin_run.h"

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


// Runs image-tools with `params`; on success *output_dir holds its files (the caller
// removes *work_dir).
Status run_image_tools(const nlohmann::json& params, std::string* work_dir, std::string* output_dir) {
  LocalPluginRequest request;
  request.plugin = "image-tools";
  request.params = params;
  LocalPluginRun run;
  Status status = run_local_plugin(request, nullptr, &run);
  *work_dir = run.work_dir;
  *output_dir = run.output_dir;
  return status;
}

int info(const Args& args) {
  if (wants_help(args)) return std::fputs(kInfoUsage, stdout), kOk;
  if (args.size() != 1) return usage_error("image info takes one FILE", "image");
  std::string work_dir, output_dir;
  Status status = run_image_tools({{"command", "info"}, {"path", absolute_path(args[0])}}, &work_dir, &output_dir);
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
  Status status = run_image_tools({{"command", "convert"}, {"path", absolute_path(args[0])}, {"out", name}},
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
