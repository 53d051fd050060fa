#include "plugins/dataset/deid_writer.h"

#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>

#include <filesystem>

#include "plugins/ml/image/dicom_load.h"

namespace radflow::dataset {
namespace {

namespace fs = std::filesystem;

std::string extension_of(const std::string& format) {
  if (format == "dicom") return ".dcm";
  if (format == "png") return ".png";
  return ".jpg";
}

// Structure names come from label-table columns: keep them only as plain names.
std::string safe_name(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ? c : '_';
  return out.empty() ? "mask" : out;
}

}  // namespace

DeidWriter::DeidWriter(const Deidentifier& deidentifier, std::string root, BurnedInPolicy burned_in)
    : deidentifier_(deidentifier), root_(std::move(root)), burned_in_(burned_in) {}

Result<DeidCopy> DeidWriter::copy_image(const std::string& source, const std::string& format, size_t item) {
  const std::string where = "item " + std::to_string(item);
  last_token_ = deidentifier_.token("file", source);
  DeidCopy copy;
  copy.path = "images/" + last_token_ + extension_of(format);
  nlohmann::json entry = {{"item", item}, {"source", source}, {"output", copy.path}};
  std::error_code ec;
  fs::create_directories(root_ + "/images", ec);
  const std::string target = root_ + "/" + copy.path;
  if (format != "dicom") {
    if (!fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec)) {
      return Status::error("deid_failed", where + ": cannot copy: " + ec.message());
    }
    map_["files"].push_back(entry);
    return copy;
  }
  DcmFileFormat file;
  const Status loaded = ml::load_dicom_file(source, &file);
  if (!loaded.ok()) {
    std::string reason = loaded.message();
    if (reason.rfind(source + ": ", 0) == 0) reason.erase(0, source.size() + 2);
    return Status::error("deid_failed", where + ": " + reason);
  }
  DcmDataset* ds = file.getDataset();
  const E_TransferSyntax xfer = ds->getOriginalXfer();
  OFString patient_id;
  (void)ds->findAndGetOFString(DCM_PatientID, patient_id);
  copy.outcome = deidentifier_.apply(ds, burned_in_);
  if (copy.outcome == DeidOutcome::kBurnedInExcluded) {
    copy.path.clear();
    entry["output"] = nullptr;
    entry["excluded"] = "burned-in annotation";
    map_["files"].push_back(entry);
    return copy;
  }
  map_["patients"][patient_id.c_str()] = deidentifier_.patient_pseudonym(patient_id.c_str());
  // A fresh meta header: the old one names the source's SOP instance and may name the
  // sending station (SourceApplicationEntityTitle).
  file.getMetaInfo()->clear();
  const OFCondition saved = file.saveFile(target.c_str(), xfer == EXS_Unknown ? EXS_LittleEndianExplicit : xfer);
  if (saved.bad()) return Status::error("deid_failed", where + ": cannot write the de-identified copy: " + saved.text());
  map_["files"].push_back(entry);
  return copy;
}

Result<std::string> DeidWriter::copy_mask(const std::string& source, const std::string& structure) {
  const std::string rel = "masks/" + last_token_ + "/" + safe_name(structure) + ".png";
  std::error_code ec;
  fs::create_directories(root_ + "/masks/" + last_token_, ec);
  if (!fs::copy_file(source, root_ + "/" + rel, fs::copy_options::overwrite_existing, ec)) {
    return Status::error("deid_failed", "mask '" + structure + "': cannot copy: " + ec.message());
  }
  return rel;
}

Status check_map_path(const std::string& map_path, const std::string& output_root) {
  const fs::path map = fs::weakly_canonical(fs::absolute(map_path));
  auto inside = [&map](const fs::path& folder) {
    const fs::path base = fs::weakly_canonical(folder);
    auto m = map.begin();
    for (auto b = base.begin(); b != base.end(); ++b, ++m) {
      if (m == map.end() || *m != *b) return false;
    }
    return true;
  };
  fs::path folder = fs::absolute(output_root);
  if (inside(folder)) return Status::error("param_invalid", "param 'pseudonym_map' must not be inside the dataset");
  for (; folder.has_relative_path(); folder = folder.parent_path()) {
    std::error_code ec;
    if (fs::exists(folder / "radflow.db", ec) && inside(folder)) {
      return Status::error("param_invalid",
                           "param 'pseudonym_map' must be outside radflow's data folder (artifacts are shared)");
    }
  }
  return Status::ok_status();
}

}  // namespace radflow::dataset
