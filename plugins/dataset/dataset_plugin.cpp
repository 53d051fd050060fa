// dataset: turns images on disk plus a label table (CSV or JSONL in the manifest
// format of plugins/ml/data; "split" optional) — or an existing dataset folder such
// as synth-cxr's, bound to the optional input "source" — into a validated dataset
// folder: manifest.csv with absolute source paths (images are not copied) and
// stats.json (counts per split and label, image sizes, bad files). Files are checked
// by an ImageValidator (image_check.h); bad ones are skipped and counted, or fail
// the step naming them, as "on_bad_file" says.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "plugins/dataset/image_check.h"
#include "plugins/ml/data/manifest.h"
#include "plugins/ml/data/manifest_stats.h"
#include "plugins/ml/data/split_assignment.h"
#include "radflow/plugin.hpp"

namespace radflow::dataset {
namespace {

namespace data = radflow::ml::data;
namespace fs = std::filesystem;
using nlohmann::json;

// Where the decoder of plugins/ml/image plugs in once it exists.
const ImageValidator kValidator = light_image_check;

bool looks_like_image(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".dcm" || ext == ".dicom" || ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext.empty();
}

// Every regular file under `dir` that may be an image, sorted for a stable order.
data::Manifest list_images(const std::string& dir) {
  data::Manifest manifest;
  manifest.base_dir = fs::absolute(dir).lexically_normal().string();
  std::vector<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && looks_like_image(entry.path()) && entry.path().filename().string()[0] != '.') {
      paths.push_back(fs::relative(entry.path(), dir).string());
    }
  }
  std::sort(paths.begin(), paths.end());
  for (auto& p : paths) {
    data::Record record;
    record.path = std::move(p);
    manifest.records.push_back(std::move(record));
  }
  return manifest;
}

data::Manifest load_source(const radflow::sdk::Context& ctx) {
  Result<data::Manifest> loaded = Status::error("unset", "");
  if (ctx.has_input("source")) {
    std::string path = ctx.input("source");
    if (fs::is_directory(path)) path = (fs::path(path) / "manifest.csv").string();
    loaded = data::read_manifest(path, {data::SplitRule::kOptional});
  } else if (ctx.has_param("labels")) {
    loaded = data::read_manifest(ctx.param<std::string>("labels"), {data::SplitRule::kOptional});
    // Paths in a label table are relative to images_dir when one is given.
    if (loaded.ok() && ctx.has_param("images_dir")) {
      loaded->base_dir = fs::absolute(ctx.param<std::string>("images_dir")).lexically_normal().string();
    }
  } else if (ctx.has_param("images_dir")) {
    const std::string dir = ctx.param<std::string>("images_dir");
    if (!fs::is_directory(dir)) throw radflow::sdk::ParamError("param 'images_dir': " + dir + " is not a folder");
    return list_images(dir);
  } else {
    throw radflow::sdk::ParamError("bind input 'source' or set param 'labels' and/or 'images_dir'");
  }
  if (!loaded.ok()) throw std::runtime_error(loaded.status().message());
  return std::move(loaded).value();
}

int run(radflow::sdk::Context& ctx) {
  const std::string on_bad_file = ctx.param("on_bad_file", "skip");
  if (on_bad_file != "skip" && on_bad_file != "fail") {
    throw radflow::sdk::ParamError("param 'on_bad_file' must be \"skip\" or \"fail\"");
  }
  data::Manifest source = load_source(ctx);
  const size_t total = source.records.size();
  ctx.log_info("checking " + std::to_string(total) + " images");

  data::Manifest out;
  json bad_files = json::array();
  std::map<std::string, int64_t> sizes, formats;
  std::set<std::string> seen;
  for (size_t i = 0; i < total; ++i) {
    if (ctx.cancelled()) return RF_RUN_CANCELLED;
    data::Record record = source.records[i];
    record.path = source.resolve(record.path);
    std::string reason;
    ImageCheck check;
    if (!seen.insert(record.path).second) {
      reason = "listed twice";
    } else {
      check = kValidator(record.path);
      if (!check.ok) reason = check.reason;
    }
    for (auto& [name, mask] : record.masks) {
      mask = source.resolve(mask);
      if (reason.empty()) {
        const ImageCheck mask_check = kValidator(mask);
        if (!mask_check.ok) reason = "mask '" + name + "' " + mask + ": " + mask_check.reason;
      }
    }
    if (!reason.empty()) {
      bad_files.push_back({{"path", record.path}, {"reason", reason}});
      continue;
    }
    ++formats[check.format];
    ++sizes[std::to_string(check.width) + "x" + std::to_string(check.height)];
    out.records.push_back(std::move(record));
    if ((i + 1) % 50 == 0 || i + 1 == total) ctx.progress(static_cast<double>(i + 1) / total, "checking images");
  }
  ctx.metric("bad_files", 0, static_cast<double>(bad_files.size()));
  ctx.metric("images", 0, static_cast<double>(out.records.size()));
  if (!bad_files.empty()) {
    std::string listing;
    for (size_t k = 0; k < bad_files.size() && k < 20; ++k) {
      listing += "\n  " + bad_files[k]["path"].get<std::string>() + ": " + bad_files[k]["reason"].get<std::string>();
    }
    if (bad_files.size() > 20) listing += "\n  ... and " + std::to_string(bad_files.size() - 20) + " more";
    const std::string summary = std::to_string(bad_files.size()) + " bad file(s) of " + std::to_string(total) + ":" + listing;
    if (on_bad_file == "fail") {
      ctx.fail(summary);
      return RF_RUN_FAILED;
    }
    ctx.log_warning("skipped " + summary);
  }
  if (out.records.empty()) {
    ctx.fail("no usable images (" + std::to_string(total) + " listed, " + std::to_string(bad_files.size()) + " bad)");
    return RF_RUN_FAILED;
  }

  data::SplitRatios ratios;
  const json r = ctx.params().value("split_ratios", json::object());
  ratios.train = r.value("train", ratios.train);
  ratios.val = r.value("val", ratios.val);
  ratios.test = r.value("test", ratios.test);
  const Status assigned = data::assign_missing_splits(out, ratios, static_cast<uint64_t>(ctx.param<int64_t>("seed", 0)));
  if (!assigned.ok()) throw radflow::sdk::ParamError("param 'split_ratios': " + assigned.message());

  const std::string root = ctx.output_path("dataset");
  fs::create_directories(root);
  out.base_dir = root;
  const Status written = data::write_manifest(out, root + "/manifest.csv", data::ManifestFormat::kCsv);
  if (!written.ok()) throw std::runtime_error(written.message());
  json stats = data::to_json(data::compute_stats(out));
  stats["listed"] = total;
  stats["image_sizes"] = sizes;
  stats["formats"] = formats;
  stats["bad_files"] = bad_files;
  stats["bad_count"] = bad_files.size();
  std::ofstream(root + "/stats.json") << stats.dump(2) << "\n";
  ctx.log_info("dataset: " + std::to_string(out.records.size()) + " images, " + std::to_string(bad_files.size()) + " skipped");
  ctx.register_output("dataset", root);
  return RF_RUN_OK;
}

}  // namespace
}  // namespace radflow::dataset

RADFLOW_PLUGIN(
    "dataset", "1.0.0",
    "Builds a validated dataset manifest from images plus a label table, or re-validates a dataset folder.",
    R"({
      "type": "object",
      "properties": {
        "images_dir": {"type": "string", "minLength": 1,
          "description": "Folder of images (DICOM, PNG, JPEG). Label-table paths are relative to it; without 'labels' every image in it is listed, unlabelled."},
        "labels": {"type": "string", "minLength": 1,
          "description": "Label table in manifest format: CSV (path, split?, age, sex, report, label:<finding>, mask:<structure>) or .jsonl."},
        "on_bad_file": {"type": "string", "enum": ["skip", "fail"], "default": "skip",
          "description": "skip: leave unreadable files out and count them; fail: fail the step naming them."},
        "split_ratios": {"type": "object", "description": "Split for records without one (normalised).",
          "properties": {
            "train": {"type": "number", "default": 0.7, "minimum": 0},
            "val": {"type": "number", "default": 0.15, "minimum": 0},
            "test": {"type": "number", "default": 0.15, "minimum": 0}},
          "additionalProperties": false},
        "seed": {"type": "integer", "default": 0, "description": "Seed of the split assignment."}
      },
      "additionalProperties": false
    })",
    R"([{"name": "source", "description": "A dataset folder with manifest.csv (e.g. synth-cxr's output) to re-validate.", "optional": true}])",
    R"([{"name": "dataset", "description": "Folder with manifest.csv (absolute image paths) and stats.json."}])",
    radflow::dataset::run)
