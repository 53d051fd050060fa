// decode_j2k: decodes one JPEG 2000 frame (a raw J2K codestream or a JP2 file, as held
// in a DICOM fragment) with OpenJPEG into integer samples. Torch-free, thread-safe
// (no shared state). Errors are returned as text, never thrown.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace radflow::ml {

struct J2kFrame {
  int rows = 0;
  int cols = 0;
  int components = 0;
  int precision = 0;            // bits of the first component
  bool is_signed = false;       // of the first component
  std::vector<int32_t> samples;  // interleaved: (row * cols + col) * components + c
};

// rows, cols and components are what the DICOM header declares: a codestream of any
// other size is refused after its header is read, before OpenJPEG allocates the image
// (so a tampered codestream cannot claim gigapixels). On failure returns false and
// sets *error to the reason.
bool decode_j2k(const uint8_t* data, size_t size, int rows, int cols, int components, J2kFrame* frame,
                std::string* error);

}  // namespace radflow::ml
