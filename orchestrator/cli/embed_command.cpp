// radflow embed: a frozen encoder's embeddings of a folder or manifest of images, as
// a float32 .npy plus the row -> path list, computed locally by the embed plugin
// through radflow-worker (local_plugin_run.h), with a progress bar on stderr. The
// CLI links no torch: without a torch build the plugin is missing and we say so.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "orchestrator/cli/cli_util.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/local_plugin_run.h"

namespace radflow::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEmbedUsage = R"(usage: radflow embed --encoder CKPT --images DIR|MANIFEST --out FILE.npy
                    [--pool cls|cls+mean] [--size N] [--batch-size B]

Embeds images with a frozen ViT encoder, locally (no server), by running the embed
plugin through radflow-worker.

  --encoder CKPT     a folder holding model.safetensors (+ config.json), e.g. the
                     pretrain step's `encoder` output, or a .safetensors file
                     (Hugging Face Dinov2 or DINOv2 repository key layout)
  --images DIR       every DICOM (.dcm, .dicom, or no extension with the DICM marker),
                     PNG and JPEG file under DIR, recursively (hidden entries skipped),
                     in the byte order of their paths relative to DIR
  --images MANIFEST  a manifest file (.csv, or .jsonl; plugins/ml/README.md): its
                     images in the manifest's row order
  --out FILE.npy     float32 NumPy array, N x D (N images, D the encoder width)
  --pool cls         rows are the CLS token after the final norm (default)
  --pool cls+mean    rows are N x 2D: the CLS token, then the mean of the patch tokens
  --size N           input side in pixels, a multiple of the patch size (default: the
                     encoder config's image_size)
  --batch-size B     images per forward pass (default 16)

Images are preprocessed as microsoft/rad-dino's processor: windowed to display values,
resized so the shortest edge is N (bicubic), centre-cropped to N x N, normalised with
mean 0.5307 and std 0.2583. Row i of FILE.npy is the image on line i of FILE.paths.txt
(FILE.npy with .npy replaced by .paths.txt), one absolute path per line.
Progress goes to stderr; the plugin runs with $RADFLOW_CPUS threads (default 1).
Exit codes: 0 ok, 1 failed (e.g. an unreadable image, named), 2 usage error.
The embed plugin is built only with LibTorch (RADFLOW_WITH_TORCH=ON).
)";

constexpr const char* kNotBuilt =
    "the embed plugin is not built: this radflow was configured without LibTorch "
    "(RADFLOW_WITH_TORCH=OFF); rebuild with -DRADFLOW_WITH_TORCH=ON, or point "
    "RADFLOW_PLUGIN_DIR at a folder holding embed.so";

// One progress line: a bar redrawn in place on a terminal, plain lines otherwise.
class ProgressBar {
 public:
  ProgressBar() : tty_(isatty(STDERR_FILENO) != 0) {}
  ~ProgressBar() {
    if (drawn_) std::fputc('\n', stderr);
  }
  void show(double fraction, const std::string& message) {
    const int percent = static_cast<int>(std::lround(std::min(1.0, std::max(0.0, fraction)) * 100));
    if (!tty_) {
      std::fprintf(stderr, "embed: %3d%% %s\n", percent, message.c_str());
      return;
    }
    constexpr int kWidth = 30;
    const int filled = percent * kWidth / 100;
    std::fprintf(stderr, "\r[%s%s] %3d%% %s\033[K", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, ' ').c_str(), percent, message.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }
  void line(const std::string& text) {
    if (drawn_) std::fputc('\n', stderr), drawn_ = false;
    std::fprintf(stderr, "%s\n", text.c_str());
  }

 private:
  const bool tty_;
  bool drawn_ = false;
};

// Reads `--name value` and `--name=value` options into *values; false on a usage error.
bool parse_options(const Args& args, std::map<std::string, std::string>* values, std::string* error) {
  static const char* kKnown[] = {"--encoder", "--images", "--out", "--pool", "--size", "--batch-size"};
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    const size_t eq = name.find('=');
    bool inline_value = eq != std::string::npos;
    if (inline_value) value = name.substr(eq + 1), name = name.substr(0, eq);
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      *error = (name.rfind("--", 0) == 0 ? "unknown option " : "unexpected argument ") + args[i];
      return false;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        *error = name + " needs a value";
        return false;
      }
      value = args[++i];
    }
    (*values)[name] = value;
  }
  for (const char* required : {"--encoder", "--images", "--out"}) {
    if (!values->count(required)) {
      *error = std::string(required) + " is required";
      return false;
    }
  }
  return true;
}

bool parse_positive(const std::string& text, int64_t* out) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used != text.size() || v < 1) return false;
    *out = v;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

int embed(const std::string& /*server*/, const Args& args) {
  if (wants_help(args)) return std::fputs(kEmbedUsage, stdout), kOk;
  std::map<std::string, std::string> options;
  std::string error;
  if (!parse_options(args, &options, &error)) return usage_error(error, "embed");
  const std::string out = options["--out"];
  if (fs::path(out).extension() != ".npy") return usage_error("--out must end in .npy", "embed");
  const std::string paths_out = fs::path(out).replace_extension(".paths.txt").string();

  LocalPluginRequest request;
  request.plugin = "embed";
  request.missing_hint = kNotBuilt;
  request.inputs = {{"encoder", absolute_path(options["--encoder"])}, {"images", absolute_path(options["--images"])}};
  if (options.count("--pool")) {
    if (options["--pool"] != "cls" && options["--pool"] != "cls+mean") {
      return usage_error("--pool must be cls or cls+mean", "embed");
    }
    request.params["pool"] = options["--pool"];
  }
  for (const auto& [flag, param] : {std::pair<std::string, std::string>{"--size", "image_size"},
                                    {"--batch-size", "batch_size"}}) {
    if (!options.count(flag)) continue;
    int64_t value = 0;
    if (!parse_positive(options[flag], &value)) return usage_error(flag + " must be a positive integer", "embed");
    request.params[param] = value;
  }

  LocalPluginRun run;
  Status status;
  {
    ProgressBar bar;
    status = run_local_plugin(
        request,
        [&bar](const nlohmann::json& event) {
          const std::string type = event.value("type", "");
          if (type == "progress") {
            bar.show(event.value("fraction", 0.0), event.value("message", ""));
          } else if (type == "log" && (event.value("level", "") == "warning" ||
                                        event.value("level", "") == "error")) {
            bar.line("embed: " + event.value("message", ""));  // warnings and errors
          }
        },
        &run);
  }
  if (status.ok()) {
    std::error_code ec;
    fs::copy_file(run.output_dir + "/embeddings.npy", out, fs::copy_options::overwrite_existing, ec);
    if (!ec) {
      fs::copy_file(run.output_dir + "/embeddings.paths.txt", paths_out, fs::copy_options::overwrite_existing, ec);
    }
    if (ec) status = Status::error("failed", "cannot write " + out + ": " + ec.message());
  }
  std::error_code ec;
  if (!run.work_dir.empty()) fs::remove_all(run.work_dir, ec);
  if (!status.ok()) return report(status);
  std::printf("%s\n%s\n", out.c_str(), paths_out.c_str());
  return kOk;
}

}  // namespace radflow::cli
