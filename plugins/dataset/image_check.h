// Light, decoder-free validation of one image file for the dataset plugin: the file
// exists and is non-empty, starts like a DICOM Part 10 file ("DICM" at offset 128),
// a PNG or a JPEG, and its header gives the image size (DICOM header via DCMTK up to
// the pixel data, PNG IHDR, JPEG SOF). Pixel data is NOT decoded: that is the seam
// where plugins/ml/image's decoder plugs in (ImageValidator). Thread-safe.
#pragma once

#include <string>

namespace radflow::dataset {

struct ImageCheck {
  bool ok = false;
  std::string format;  // "dicom", "png", "jpeg" or "" when unknown
  std::string reason;  // why !ok: "missing", "empty", "unknown format", "truncated header", ...
  int width = 0, height = 0;  // 0 when the header does not say
  std::string patient_id;     // DICOM PatientID (0010,0020); "" for PNG/JPEG or when absent
};

// The validation seam: any function with this shape can replace light_image_check
// (e.g. one that fully decodes the pixels with plugins/ml/image).
using ImageValidator = ImageCheck (*)(const std::string& path);

ImageCheck light_image_check(const std::string& path);

}  // namespace radflow::dataset
