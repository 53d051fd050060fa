// Test fixtures: writes small DICOM files with DCMTK (every transfer syntax the reader
// handles, compressed ones through DCMTK's encoders and OpenJPEG), so the tests need no
// downloaded data. No real patient data: pixels are a deterministic pattern.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace radflow::ml::testing {

enum class Syntax {
  kExplicitLittle, kImplicitLittle, kExplicitBig, kDeflated,
  kRle, kJpegLsLossless, kJpegLossless, kJ2kLossless,
};
const char* syntax_name(Syntax syntax);
std::string syntax_uid(Syntax syntax);

struct TestImage {
  int rows = 10, cols = 12, frames = 1, samples = 1;
  int bits_allocated = 16, bits_stored = 16, high_bit = 15;
  bool is_signed = false;
  std::string photometric = "MONOCHROME2";
  int planar = 0;
  std::string modality = "CT";
  std::optional<double> slope, intercept, window_center, window_width;
  // J2K only: the codestream's signedness when it should contradict PixelRepresentation
  // (is_signed), as pydicom's J2K_pixelrep_mismatch.dcm does. Values are then written
  // as the codestream's samples.
  std::optional<bool> codestream_signed;
  // Empty: a fresh unique UID. Set it for byte-identical files across runs (the fuzz
  // test's seeds).
  std::string sop_instance_uid;
  // Stored values: frames x rows x cols x samples (interleaved), or raw words when
  // raw_words is set (to put bits above BitsStored).
  std::vector<int32_t> values;
};

// A deterministic pattern that spans the stored range (signed or not).
std::vector<int32_t> pattern(const TestImage& image);

// Writes `image` with `syntax`; returns an empty string or the failure reason.
std::string write_dicom(const TestImage& image, Syntax syntax, const std::string& path);

// A fresh folder under the temp dir, removed when the test binary exits.
std::string temp_dir();

// The whole file as bytes (empty when it cannot be read).
std::string read_bytes(const std::string& path);

}  // namespace radflow::ml::testing
