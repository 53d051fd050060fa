// write_dicom: stores one synthetic radiograph as a DX "For Presentation" DICOM
// file with DCMTK — 16-bit allocated, BitsStored 12..16, MONOCHROME1 or MONOCHROME2
// (MONOCHROME1 stores inverted values so the displayed anatomy is the same), rescale
// and window attributes, and explicit little endian, RLE lossless or JPEG-LS lossless
// encoding. Call register_dicom_codecs() once before the first write. Thread-safety:
// DCMTK's codec registry is global; writes of distinct files may run concurrently
// once the codecs are registered.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace radflow::synth {

enum class DicomEncoding { kExplicitLittle, kRleLossless, kJpegLsLossless };

const char* encoding_name(DicomEncoding encoding);  // "explicit_le", "rle", "jpegls"
const char* transfer_syntax_uid(DicomEncoding encoding);

struct DicomImage {
  int size = 0;
  const std::vector<float>* pixels = nullptr;  // borrowed; [0, 1], brighter = denser
  int bits_stored = 12;
  bool monochrome1 = false;
  DicomEncoding encoding = DicomEncoding::kExplicitLittle;
  std::string patient_id, sex;  // sex "F"/"M"
  int age_years = 0;
  std::string study_uid, series_uid, instance_uid;
  // Test data for de-identification (param "phi_canaries"): every attribute of the
  // PS3.15 basic profile that radflow handles gets a value containing kPhiCanary (or,
  // for dates and UIDs, kPhiCanaryBirthDate / kPhiCanaryUidRoot), plus private tags,
  // sequences, and dates study_date for StudyDate, SeriesDate, AcquisitionDate and
  // ContentDate; burned_in sets BurnedInAnnotation YES.
  bool phi_canaries = false;
  int patient_index = 0;
  std::string study_date;  // YYYYMMDD
  bool burned_in = false;
};

inline constexpr char kPhiCanary[] = "PHICANARY";
inline constexpr char kPhiCanaryBirthDate[] = "19230517";
inline constexpr char kPhiCanaryUidRoot[] = "1.2.999.4242.";

void register_dicom_codecs();
// Error code "dicom_write" names the file and DCMTK's reason.
Status write_dicom(const DicomImage& image, const std::string& path);

}  // namespace radflow::synth
