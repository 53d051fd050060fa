// load_dicom_file: DCMTK's DcmFileFormat::loadFile with bounds, so that what a file
// declares cannot make DCMTK allocate before radflow has checked it (a 646-byte
// deflated file that declares a 2 GB Pixel Data element, found by fuzz_dicom).
//   - Deflated transfer syntax: DCMTK must inflate every value into memory, so the
//     data set is inflated here first, refusing more than max_value_bytes plus
//     kHeaderAllowanceBytes of inflated data, and every defined element length is
//     checked against the inflated bytes that follow it; only then does DCMTK read it.
//   - Any other transfer syntax: values over kLazyValueBytes stay on disk (loaded on
//     first use), and a top-level value longer than the file, or a Pixel Data element
//     longer than max_value_bytes, is refused.
// Used by read_dicom (dicom_reader.h) and by the dataset plugin's de-identification.
// Errors have code "image_error" and a message that names the file. Thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

class DcmFileFormat;

namespace radflow::ml {

struct DicomLoadLimits {
  // Largest Pixel Data (or any single value) accepted, in bytes. 1 GiB holds a
  // 16384 x 16384 16-bit radiograph twice over.
  uint64_t max_value_bytes = uint64_t{1} << 30;
};

inline constexpr uint64_t kLazyValueBytes = uint64_t{64} << 10;
inline constexpr uint64_t kHeaderAllowanceBytes = uint64_t{64} << 20;

Status load_dicom_file(const std::string& path, DcmFileFormat* file, const DicomLoadLimits& limits = {});

}  // namespace radflow::ml
