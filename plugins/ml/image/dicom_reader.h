// read_dicom: decodes a DICOM file into an Image (see image.h) with DCMTK.
//
// Handles implicit/explicit little endian, explicit big endian, deflate, RLE, JPEG
// (baseline, extended, lossless), JPEG-LS (DCMTK codecs) and JPEG 2000 (the
// encapsulated codestreams decoded with OpenJPEG, since DCMTK's free edition has no
// J2K codec). 8, 16 or 32 bits allocated, signed or unsigned; the modality LUT (rescale
// slope and intercept) is applied, inversion and window are not (see display.h).
//
// Damaged or tampered files fail cleanly: a header that declares more pixels than the
// file can hold (or more than the limits in dicom_pixel_module.h) is refused before any
// pixel buffer is allocated; the reader survives thousands of corrupted files
// (tests/ml/image/dicom_fuzz_test.cpp). Not supported: 1-bit pixels and uncompressed
// subsampled colour (YBR_FULL_422). 32-bit values beyond 2^24 lose precision in float.
//
// Errors (never exceptions) have code "image_error" and a message that names the file
// and the reason; the Error's path is the file. Thread-safe: DCMTK's codec registry
// is set up once, under std::call_once.
#pragma once

#include <string>

#include "common/status.h"
#include "plugins/ml/image/image.h"

namespace radflow::ml {

Result<Image> read_dicom(const std::string& path, FrameSelection frames = FrameSelection::kFirst);

}  // namespace radflow::ml
