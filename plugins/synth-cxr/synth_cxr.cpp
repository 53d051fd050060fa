// synth-cxr: writes a seeded synthetic chest-radiograph dataset — real DICOM files
// (DX, 16-bit, some MONOCHROME1, some RLE / JPEG-LS lossless), PNG masks, template
// reports, and a manifest.csv readable by plugins/ml/data — so every ML plugin can
// be exercised end to end without credentialed data. Labels, masks, pixels and
// report all derive from one CaseSpec per image, drawn from Rng(mix_seed(seed, i)),
// so a seed gives the same dataset on every machine.
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <vector>

#include "plugins/ml/data/manifest.h"
#include "plugins/ml/data/manifest_stats.h"
#include "plugins/ml/data/split_assignment.h"
#include "plugins/synth-cxr/case_spec.h"
#include "plugins/synth-cxr/dicom_writer.h"
#include "plugins/synth-cxr/phantom_renderer.h"
#include "plugins/synth-cxr/png_writer.h"
#include "plugins/synth-cxr/report_text.h"
#include "plugins/synth-cxr/rng.h"
#include "radflow/plugin.hpp"

namespace radflow::synth {
namespace {

namespace data = radflow::ml::data;
using nlohmann::json;

void check(const Status& status) {
  if (!status.ok()) throw std::runtime_error(status.message());
}

double number_in(const json& object, const char* key, double fallback, const char* param) {
  if (!object.is_object() || !object.contains(key)) return fallback;
  const json& v = object.at(key);
  if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
    throw radflow::sdk::ParamError(std::string("param '") + param + "." + key + "' must be a number in [0, 1]");
  }
  return v.get<double>();
}

std::string uid(uint64_t seed, uint64_t index, uint64_t kind) {
  return "2.25." + std::to_string(mix_seed(seed ^ (kind << 56), index) >> 1);
}

int run(radflow::sdk::Context& ctx) {
  const auto seed = static_cast<uint64_t>(ctx.param<int64_t>("seed", 0));
  const int64_t count = ctx.param<int64_t>("count", 400);
  const int size = ctx.param<int>("image_size", 256);
  const double mono1_fraction = ctx.param<double>("monochrome1_fraction", 0.25);
  const double compressed_fraction = ctx.param<double>("compressed_fraction", 0.25);
  const double noise = ctx.param<double>("noise", 0.02);
  const bool phi_canaries = ctx.param<bool>("phi_canaries", false);
  // With canaries, two studies per patient unless told otherwise.
  const int64_t studies = ctx.param<int64_t>("studies_per_patient", phi_canaries ? 2 : 1);
  if (studies < 1 || studies > 100) throw radflow::sdk::ParamError("param 'studies_per_patient' must be in [1, 100]");
  if (count < 1 || count > 1000000) throw radflow::sdk::ParamError("param 'count' must be in [1, 1000000]");
  if (size < 32 || size > 4096) throw radflow::sdk::ParamError("param 'image_size' must be in [32, 4096]");
  const json ratios = ctx.params().value("split_ratios", json::object());
  const json prevalence_param = ctx.params().value("prevalence", json::object());
  Prevalence prevalence;
  for (int f = 0; f < kFindingCount; ++f) {
    prevalence.p[f] = number_in(prevalence_param, finding_name(f), prevalence.p[f], "prevalence");
  }
  const data::SplitRatios split_ratios{number_in(ratios, "train", 0.7, "split_ratios"),
                                       number_in(ratios, "val", 0.15, "split_ratios"),
                                       number_in(ratios, "test", 0.15, "split_ratios")};
  if (!(split_ratios.train + split_ratios.val + split_ratios.test > 0)) {
    throw radflow::sdk::ParamError("param 'split_ratios' must not be all zero");
  }

  register_dicom_codecs();
  const std::string root = ctx.output_path("dataset");
  std::filesystem::create_directories(root + "/images");
  std::filesystem::create_directories(root + "/masks");
  data::Manifest manifest;
  manifest.base_dir = root;
  std::map<std::string, int64_t> per_encoding, per_photometric;
  const std::string study_uid = uid(seed, 0, 1);
  for (int64_t i = 0; i < count; ++i) {
    if (ctx.cancelled()) return RF_RUN_CANCELLED;
    const int64_t patient_index = i / studies, study_index = i % studies;
    Rng rng(mix_seed(seed, static_cast<uint64_t>(i)));
    CaseSpec spec = sample_case(rng, prevalence, noise);
    if (study_index > 0) {
      // A later study of the same patient: the patient's body and demographics (a year
      // older per study), this study's findings, positioning and exposure.
      Rng first(mix_seed(seed, static_cast<uint64_t>(patient_index * studies)));
      same_patient(sample_case(first, prevalence, noise), static_cast<int>(study_index), &spec);
    }
    // Acquisition choices come from their own stream so that changing the fractions
    // leaves anatomy, findings and reports of every image unchanged.
    Rng acquisition(mix_seed(seed ^ 0xA5A5A5A5ULL, static_cast<uint64_t>(i)));
    const bool mono1 = acquisition.bernoulli(mono1_fraction);
    const bool compressed = acquisition.bernoulli(compressed_fraction);
    const DicomEncoding encoding = !compressed ? DicomEncoding::kExplicitLittle
                                   : acquisition.bernoulli(0.5) ? DicomEncoding::kRleLossless
                                                                : DicomEncoding::kJpegLsLossless;
    const int bits_stored = 12 + 2 * static_cast<int>(acquisition.below(3));
    const Phantom phantom = render_phantom(spec, size, rng);
    const std::string report = build_report(spec, rng);

    char id[64];
    std::snprintf(id, sizeof id, "cxr-%06lld", static_cast<long long>(i));
    // With canaries, two studies per patient, and files named after the PatientID as
    // many exports do: file names are PHI too.
    if (phi_canaries) {
      std::snprintf(id, sizeof id, "%s-PatientID-%lld-S%lld", kPhiCanary, static_cast<long long>(patient_index),
                    static_cast<long long>(study_index));
    }
    char patient_id[64];
    std::snprintf(patient_id, sizeof patient_id, "synth-P%06lld", static_cast<long long>(patient_index));
    data::Record record;
    record.path = std::string("images/") + id + ".dcm";
    record.age = spec.age_years;
    record.sex = spec.female ? "F" : "M";
    record.report = report;
    for (int f = 0; f < kFindingCount; ++f) record.labels[finding_name(f)] = spec.present[f] ? 1 : 0;
    DicomImage image;
    image.size = size;
    image.pixels = &phantom.pixels;
    image.bits_stored = bits_stored;
    image.monochrome1 = mono1;
    image.encoding = encoding;
    image.patient_id = patient_id;
    image.sex = record.sex;
    image.age_years = static_cast<int>(spec.age_years);
    image.study_uid = study_uid;
    image.series_uid = uid(seed, static_cast<uint64_t>(i), 2);
    image.instance_uid = uid(seed, static_cast<uint64_t>(i), 3);
    if (phi_canaries) {
      const std::string root = kPhiCanaryUidRoot + std::to_string(patient_index) + "." + std::to_string(study_index);
      image.phi_canaries = true;
      image.patient_index = static_cast<int>(patient_index);
      image.patient_id = std::string(kPhiCanary) + "-PatientID-" + std::to_string(patient_index);
      image.study_uid = root + ".1";
      image.series_uid = root + ".2";
      image.instance_uid = root + ".3";
      // 2011-02-dd and 2011-05-dd: the patient's two studies 89 days apart.
      char date[16];
      std::snprintf(date, sizeof date, "2011%02d%02d", static_cast<int>(2 + 3 * (study_index % 4)),
                    static_cast<int>(1 + patient_index % 28));
      image.study_date = date;
      image.burned_in = i + 1 == count;
    }
    check(write_dicom(image, root + "/" + record.path));
    std::filesystem::create_directories(root + "/masks/" + id);
    for (const auto& [name, mask] : phantom.masks) {
      const std::string rel = std::string("masks/") + id + "/" + name + ".png";
      check(write_png_gray8(root + "/" + rel, mask, size, size));
      record.masks[name] = rel;
    }
    record.extra["patient_id"] = image.patient_id;
    record.extra["photometric"] = mono1 ? "MONOCHROME1" : "MONOCHROME2";
    record.extra["transfer_syntax"] = transfer_syntax_uid(encoding);
    record.extra["bits_stored"] = std::to_string(bits_stored);
    ++per_encoding[encoding_name(encoding)];
    ++per_photometric[record.extra["photometric"]];
    manifest.records.push_back(std::move(record));
    if ((i + 1) % 10 == 0 || i + 1 == count) {
      ctx.metric("images_written", i + 1, static_cast<double>(i + 1));
      ctx.progress(static_cast<double>(i + 1) / count, "writing images");
    }
  }
  // By patient (every study of a patient in one split), stratified by findings.
  check(data::assign_missing_splits(manifest, split_ratios, mix_seed(seed, 0xFFFFFFFFFFFFFFFFULL)));
  check(data::write_manifest(manifest, root + "/manifest.csv", data::ManifestFormat::kCsv));
  json stats = data::to_json(data::compute_stats(manifest));
  stats["generator"] = {{"plugin", "synth-cxr"}, {"seed", seed}, {"count", count}, {"image_size", size},
                        {"studies_per_patient", studies}};
  stats["encodings"] = per_encoding;
  stats["photometric"] = per_photometric;
  std::ofstream(root + "/stats.json") << stats.dump(2) << "\n";
  ctx.log_info("wrote " + std::to_string(count) + " synthetic radiographs to " + root);
  ctx.register_output("dataset", root);
  return RF_RUN_OK;
}

}  // namespace
}  // namespace radflow::synth

RADFLOW_PLUGIN(
    "synth-cxr", "1.0.0",
    "Generates a seeded synthetic chest X-ray dataset: DICOM images, masks, reports and a manifest.",
    R"({
      "type": "object",
      "properties": {
        "seed": {"type": "integer", "default": 0, "description": "Seed; the same seed gives the same dataset."},
        "count": {"type": "integer", "default": 400, "minimum": 1, "maximum": 1000000, "description": "Number of images."},
        "image_size": {"type": "integer", "default": 256, "minimum": 32, "maximum": 4096, "description": "Width and height in pixels."},
        "split_ratios": {"type": "object", "description": "Relative sizes of the train/val/test splits (normalised).",
          "properties": {
            "train": {"type": "number", "default": 0.7, "minimum": 0, "maximum": 1},
            "val": {"type": "number", "default": 0.15, "minimum": 0, "maximum": 1},
            "test": {"type": "number", "default": 0.15, "minimum": 0, "maximum": 1}},
          "additionalProperties": false},
        "prevalence": {"type": "object", "description": "Probability of each finding per image.",
          "properties": {
            "cardiomegaly": {"type": "number", "default": 0.25, "minimum": 0, "maximum": 1},
            "effusion": {"type": "number", "default": 0.2, "minimum": 0, "maximum": 1},
            "pneumothorax": {"type": "number", "default": 0.15, "minimum": 0, "maximum": 1},
            "nodule": {"type": "number", "default": 0.2, "minimum": 0, "maximum": 1},
            "consolidation": {"type": "number", "default": 0.2, "minimum": 0, "maximum": 1},
            "chest_tube": {"type": "number", "default": 0.15, "minimum": 0, "maximum": 1}},
          "additionalProperties": false},
        "monochrome1_fraction": {"type": "number", "default": 0.25, "minimum": 0, "maximum": 1,
          "description": "Share of images stored as MONOCHROME1 (inverted values)."},
        "compressed_fraction": {"type": "number", "default": 0.25, "minimum": 0, "maximum": 1,
          "description": "Share of images stored RLE or JPEG-LS lossless (half each); the rest explicit little endian."},
        "noise": {"type": "number", "default": 0.02, "minimum": 0, "maximum": 0.3,
          "description": "Base standard deviation of the pixel noise (image range 0..1)."},
        "studies_per_patient": {"type": "integer", "minimum": 1, "maximum": 100,
          "description": "Images per patient (default 1; 2 with phi_canaries): consecutive images share a patient (manifest column patient_id and DICOM PatientID), body and demographics (a year older per study); findings, positioning and exposure vary by study. Splits are drawn by patient."},
        "phi_canaries": {"type": "boolean", "default": false,
          "description": "Test data for de-identification: two studies per patient (unless studies_per_patient says otherwise), files named after the PatientID, and a recognisable canary value (kPhiCanary, kPhiCanaryBirthDate and kPhiCanaryUidRoot in dicom_writer.h; not spelled here, so that the descriptor radflowd stores does not carry them) in every header attribute of the PS3.15 basic profile, private tags and sequences; the last image has BurnedInAnnotation YES."}
      },
      "additionalProperties": false
    })",
    "[]",
    R"([{"name": "dataset", "description": "Folder with manifest.csv, images/*.dcm, masks/<id>/<structure>.png and stats.json."}])",
    radflow::synth::run)
