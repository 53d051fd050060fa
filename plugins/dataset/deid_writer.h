// DeidWriter: puts the de-identified copy of each dataset image (and its masks) into
// the dataset folder under names that carry nothing of the source: images/<token>.<ext>
// and masks/<token>/<structure>.png, the token a keyed hash of the source path. DICOM
// files go through Deidentifier (deidentify.h) and are written with a fresh meta
// header in their own transfer syntax (pixel data untouched); PNG and JPEG files are
// copied byte for byte. It also collects the pseudonym map (original PatientID ->
// pseudonym, source path -> output name), written only where the user asks.
// Not thread-safe.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "plugins/dataset/deidentify.h"

namespace radflow::dataset {

struct DeidCopy {
  DeidOutcome outcome = DeidOutcome::kDeidentified;
  std::string path;  // relative to the dataset folder; empty when excluded
};

class DeidWriter {
 public:
  DeidWriter(const Deidentifier& deidentifier, std::string root, BurnedInPolicy burned_in);

  // `item` (1-based) names the image in errors instead of its path. Errors say why
  // without naming the source file.
  Result<DeidCopy> copy_image(const std::string& source, const std::string& format, size_t item);
  // Copies a mask of the image copied last; returns its path relative to the folder.
  Result<std::string> copy_mask(const std::string& source, const std::string& structure);

  // {"patients": {PatientID: pseudonym}, "files": [{"item", "source", "output"}]}.
  const nlohmann::json& pseudonym_map() const { return map_; }

 private:
  const Deidentifier& deidentifier_;
  std::string root_;
  BurnedInPolicy burned_in_;
  std::string last_token_;
  nlohmann::json map_ = {{"patients", nlohmann::json::object()}, {"files", nlohmann::json::array()}};
};

// Refuses a pseudonym map path inside the dataset folder or inside the radflow data
// folder that holds it (found as the nearest ancestor with radflow.db).
Status check_map_path(const std::string& map_path, const std::string& output_root);

}  // namespace radflow::dataset
