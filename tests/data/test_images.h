// Test helpers that read what the data plugins write: DICOM pixels (any of the
// transfer syntaxes synth-cxr uses, decompressed with DCMTK) as attenuation in
// [0, 1] with MONOCHROME1 undone, and 8-bit grayscale PNGs. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace radflow::test {

struct DicomPixels {
  bool ok = false;
  std::string error;
  int rows = 0, columns = 0, bits_stored = 0;
  std::string photometric, transfer_syntax_uid, modality, sex, age, patient_id;
  bool has_rescale = false, has_window = false;
  std::vector<float> attenuation;  // (stored * slope + intercept) / max, inverted for MONOCHROME1
};

DicomPixels read_dicom(const std::string& path);

struct GrayImage {
  bool ok = false;
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;
};

GrayImage read_png_gray8(const std::string& path);

}  // namespace radflow::test
