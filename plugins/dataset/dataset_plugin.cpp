// dataset: turns images on disk plus a label table (CSV or JSONL in the manifest
// format of plugins/ml/data; "split" optional) — or an existing dataset folder such
// as synth-cxr's, bound to the optional input "source" — into a validated dataset
// folder: manifest.csv and stats.json (counts per split and label, image sizes, bad
// files). Files are checked by an ImageValidator (image_check.h); bad ones are skipped
// and counted, or fail the step, as "on_bad_file" says.
//
// With "deidentify" (the default) the folder holds de-identified copies (deid_writer.h:
// DICOM PS3.15 basic profile, images/<token>.dcm, masks/<token>/) and the manifest's
// paths are relative to it; nothing the step reports names a source file (bad files
// are "item N", N counting the source's rows or sorted folder listing from 1). Without
// it, the manifest lists the absolute source paths and images are not copied.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "plugins/dataset/deid_writer.h"
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

// The per-dataset secret of de-identification and where it came from: a key file,
// the "deid_seed" param (reproducible, but anyone who knows the seed can recompute
// pseudonyms from candidate PatientIDs), or 32 random bytes used for this run only.
std::string deid_key(const radflow::sdk::Context& ctx, std::string* source) {
  if (ctx.has_param("deid_key_file")) {
    std::ifstream in(ctx.param<std::string>("deid_key_file"), std::ios::binary);
    const std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (key.size() < 16) throw radflow::sdk::ParamError("param 'deid_key_file': unreadable or under 16 bytes");
    *source = "key file";
    return key;
  }
  if (ctx.has_param("deid_seed")) {
    *source = "seed";
    return "radflow-deid-seed:" + std::to_string(ctx.param<int64_t>("deid_seed"));
  }
  *source = "random, this dataset only";
  std::random_device device;
  std::string key;
  for (int i = 0; i < 8; ++i) {
    const uint32_t word = device();
    key.append(reinterpret_cast<const char*>(&word), sizeof word);
  }
  return key;
}

const char kExcluded[] = "\x01excluded";

// The patient of a record, for splits by patient: its patient_id / subject_id column,
// else the DICOM PatientID. De-identifying, both become the keyed pseudonym (the same
// one the DICOM copy carries), so the manifest groups patients without naming them.
void set_patient(const Deidentifier* deidentifier, const ImageCheck& check, data::Record* record) {
  for (const char* column : {"patient_id", "subject_id"}) {
    auto it = record->extra.find(column);
    if (it != record->extra.end() && !it->second.empty() && deidentifier) {
      it->second = deidentifier->patient_pseudonym(it->second);
    }
  }
  if (!data::patient_key(*record).empty() || check.patient_id.empty()) return;
  record->extra["patient_id"] = deidentifier ? deidentifier->patient_pseudonym(check.patient_id) : check.patient_id;
}

// Replaces the record's image and masks by their de-identified copies. Returns "" when
// done, kExcluded for a burned-in image, or why the image cannot be used.
std::string deidentified_copy(DeidWriter& writer, const std::string& format, size_t item, data::Record* record,
                              int64_t* burned_in_excluded) {
  Result<DeidCopy> copy = writer.copy_image(record->path, format, item);
  if (!copy.ok()) return copy.status().message();
  if (copy->outcome == DeidOutcome::kBurnedInExcluded) {
    ++*burned_in_excluded;
    return kExcluded;
  }
  record->path = copy->path;
  for (auto& [name, mask] : record->masks) {
    Result<std::string> copied = writer.copy_mask(mask, name);
    if (!copied.ok()) return copied.status().message();
    mask = *copied;
  }
  return "";
}

int run(radflow::sdk::Context& ctx) {
  const std::string on_bad_file = ctx.param("on_bad_file", "skip");
  if (on_bad_file != "skip" && on_bad_file != "fail") {
    throw radflow::sdk::ParamError("param 'on_bad_file' must be \"skip\" or \"fail\"");
  }
  const std::string root = ctx.output_path("dataset");
  const bool deidentify = ctx.param<bool>("deidentify", true);
  const std::string map_path = ctx.param<std::string>("pseudonym_map", "");
  if (!map_path.empty()) {
    if (!deidentify) throw radflow::sdk::ParamError("param 'pseudonym_map' needs 'deidentify'");
    const Status where = check_map_path(map_path, root);
    if (!where.ok()) throw radflow::sdk::ParamError(where.message());
  }
  std::string key_source;
  const Deidentifier deidentifier(deidentify ? deid_key(ctx, &key_source) : std::string());
  const BurnedInPolicy burned_in =
      ctx.param<bool>("allow_burned_in", false) ? BurnedInPolicy::kAllow : BurnedInPolicy::kExclude;
  DeidWriter writer(deidentifier, root, burned_in);
  int64_t burned_in_excluded = 0;

  data::Manifest source = load_source(ctx);
  const size_t total = source.records.size();
  ctx.log_info("checking " + std::to_string(total) + " images" + (deidentify ? " and de-identifying them" : ""));

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
        if (!mask_check.ok) reason = "mask '" + name + "' " + (deidentify ? "" : mask + ": ") + mask_check.reason;
      }
    }
    if (reason.empty() && deidentify) reason = deidentified_copy(writer, check.format, i + 1, &record, &burned_in_excluded);
    if (reason == kExcluded) continue;
    if (!reason.empty()) {
      if (deidentify) bad_files.push_back({{"item", i + 1}, {"reason", reason}});
      else bad_files.push_back({{"path", record.path}, {"reason", reason}});
      continue;
    }
    set_patient(deidentify ? &deidentifier : nullptr, check, &record);
    ++formats[check.format];
    ++sizes[std::to_string(check.width) + "x" + std::to_string(check.height)];
    out.records.push_back(std::move(record));
    if ((i + 1) % 50 == 0 || i + 1 == total) ctx.progress(static_cast<double>(i + 1) / total, "checking images");
  }
  ctx.metric("bad_files", 0, static_cast<double>(bad_files.size()));
  ctx.metric("images", 0, static_cast<double>(out.records.size()));
  if (deidentify) ctx.metric("burned_in_excluded", 0, static_cast<double>(burned_in_excluded));
  if (!bad_files.empty()) {
    std::string listing;
    for (size_t k = 0; k < bad_files.size() && k < 20; ++k) {
      const json& bad = bad_files[k];
      const std::string name = deidentify ? "item " + std::to_string(bad["item"].get<size_t>()) : bad["path"].get<std::string>();
      listing += "\n  " + name + ": " + bad["reason"].get<std::string>();
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
  const data::ManifestStats counts = data::compute_stats(out);
  std::string report;
  for (const auto& [split, images] : counts.per_split) {
    const auto patients = counts.patients_per_split.find(split);
    report += " " + split + " " + std::to_string(patients == counts.patients_per_split.end() ? 0 : patients->second) +
              " patients / " + std::to_string(images) + " images;";
  }
  ctx.log_info("splits by patient:" + report);
  if (counts.patients_in_several_splits > 0) {
    ctx.log_warning(std::to_string(counts.patients_in_several_splits) +
                    " patient(s) have images in more than one split (given by the label table's split column)");
  }

  fs::create_directories(root);
  out.base_dir = root;
  const Status written = data::write_manifest(out, root + "/manifest.csv", data::ManifestFormat::kCsv);
  if (!written.ok()) throw std::runtime_error(written.message());
  json stats = data::to_json(counts);
  stats["listed"] = total;
  stats["image_sizes"] = sizes;
  stats["formats"] = formats;
  stats["bad_files"] = bad_files;
  stats["bad_count"] = bad_files.size();
  if (deidentify) {
    stats["deidentification"] = {{"profile", "DICOM PS3.15 basic, whitelist; modified dates; patient characteristics"},
                                 {"key", key_source},
                                 {"burned_in", burned_in == BurnedInPolicy::kAllow ? "allowed" : "excluded"},
                                 {"burned_in_excluded", burned_in_excluded}};
    if (!map_path.empty()) {
      std::ofstream map_file(map_path);
      map_file << writer.pseudonym_map().dump(2) << "\n";
      if (!map_file) throw std::runtime_error("cannot write param 'pseudonym_map'");
    }
    ctx.log_info("de-identified (key: " + key_source + "); " + std::to_string(burned_in_excluded) +
                 " image(s) with burned-in annotation excluded" + (map_path.empty() ? "" : "; pseudonym map written"));
  }
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
        "images_dir": {"type": "string", "format": "path", "minLength": 1,
          "description": "Folder of images (DICOM, PNG, JPEG). Label-table paths are relative to it; without 'labels' every image in it is listed, unlabelled."},
        "labels": {"type": "string", "format": "path", "minLength": 1,
          "description": "Label table in manifest format: CSV (path, split?, age, sex, report, label:<finding>, mask:<structure>) or .jsonl."},
        "on_bad_file": {"type": "string", "enum": ["skip", "fail"], "default": "skip",
          "description": "skip: leave unreadable files out and count them; fail: fail the step naming them."},
        "split_ratios": {"type": "object", "description": "Split for records without one (normalised), by patient: a patient_id or subject_id column, else the DICOM PatientID; all images of a patient share a split, stratified by findings where possible. A split column wins.",
          "properties": {
            "train": {"type": "number", "default": 0.7, "minimum": 0},
            "val": {"type": "number", "default": 0.15, "minimum": 0},
            "test": {"type": "number", "default": 0.15, "minimum": 0}},
          "additionalProperties": false},
        "seed": {"type": "integer", "default": 0, "description": "Seed of the split assignment."},
        "deidentify": {"type": "boolean", "default": true,
          "description": "Write de-identified copies (DICOM PS3.15 basic profile; images renamed by a keyed hash) and a manifest of relative paths; false lists the source files in place."},
        "deid_key_file": {"type": "string", "minLength": 1,
          "description": "File whose bytes (16 or more) are the secret key of pseudonyms, UID remapping and date shifts; the same key gives the same pseudonyms in every dataset."},
        "deid_seed": {"type": "integer",
          "description": "Derive the key from this number instead (reproducible, for tests; whoever knows it can recompute pseudonyms). Without a key file or seed the key is random for this dataset."},
        "allow_burned_in": {"type": "boolean", "default": false,
          "description": "Keep images whose BurnedInAnnotation is YES (excluded and counted by default)."},
        "pseudonym_map": {"type": "string", "minLength": 1,
          "description": "Where to write the map original PatientID -> pseudonym and source file -> copy (JSON); must be outside radflow's data folder. Never part of the outputs."}
      },
      "additionalProperties": false
    })",
    R"([{"name": "source", "description": "A dataset folder with manifest.csv (e.g. synth-cxr's output) to re-validate.", "optional": true}])",
    R"([{"name": "dataset", "description": "Folder with manifest.csv, stats.json and, when de-identifying, images/ and masks/ (manifest paths relative to it; otherwise absolute source paths)."}])",
    radflow::dataset::run)
