// read_dicom: decodes a DICOM file into an Image (see image.h) with DCMTK.
//
// Handles implicit/explicit little endian, explicit big endian, deflate, RLE, JPEG
// (baseline, extended, lossless), JPEG-LS (DCMTK codecs) and JPEG 2000 (the
// encapsulated codestreams decoded with OpenJPEG, since DCMTK's free edition has no
// J2K codec). 8 to 16 bits stored, signed or unsigned; the modality LUT (rescale
// slope and intercept) is applied, inversion and window are not (see display.h).
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
