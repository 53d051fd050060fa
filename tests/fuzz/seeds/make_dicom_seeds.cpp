// Writes the DICOM seeds of corpus/dicom/ with the image tests' fixtures
// (tests/ml/image/test_dicom.h): small grey, RGB and multi-frame files in every
// transfer syntax the reader handles, with a fixed SOP Instance UID so the bytes are
// the same on every run. Not built by CMake (the seeds are committed); rebuild them
// with make_seeds.sh after changing the fixtures.
#include <cstdio>
#include <string>

#include "tests/ml/image/test_dicom.h"

using radflow::ml::testing::Syntax;
using radflow::ml::testing::TestImage;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  int failures = 0;
  auto add = [&](TestImage image, Syntax syntax, const std::string& name) {
    image.values = radflow::ml::testing::pattern(image);
    image.sop_instance_uid = "2.25.20240604";
    const std::string path = dir + "/" + name + "_" + radflow::ml::testing::syntax_name(syntax) + ".dcm";
    const std::string error = radflow::ml::testing::write_dicom(image, syntax, path);
    if (!error.empty()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), error.c_str());
      ++failures;
    }
  };
  TestImage grey;  // CT-like: signed 16-bit with a rescale and a window
  grey.rows = 8;
  grey.cols = 10;
  grey.is_signed = true;
  grey.slope = 2.0;
  grey.intercept = -1024.0;
  grey.window_center = 40;
  grey.window_width = 400;
  for (Syntax s : {Syntax::kExplicitLittle, Syntax::kImplicitLittle, Syntax::kExplicitBig,
                   Syntax::kDeflated, Syntax::kRle, Syntax::kJpegLsLossless,
                   Syntax::kJpegLossless, Syntax::kJ2kLossless}) {
    add(grey, s, "grey");
  }
  TestImage rgb;
  rgb.rows = rgb.cols = 6;
  rgb.samples = 3;
  rgb.photometric = "RGB";
  rgb.bits_allocated = rgb.bits_stored = 8;
  rgb.high_bit = 7;
  for (Syntax s : {Syntax::kExplicitLittle, Syntax::kRle, Syntax::kJ2kLossless}) add(rgb, s, "rgb");
  TestImage frames;  // MONOCHROME1, 8-bit, three frames
  frames.rows = frames.cols = 6;
  frames.frames = 3;
  frames.photometric = "MONOCHROME1";
  frames.bits_allocated = frames.bits_stored = 8;
  frames.high_bit = 7;
  for (Syntax s : {Syntax::kExplicitLittle, Syntax::kRle, Syntax::kJpegLossless}) {
    add(frames, s, "frames");
  }
  return failures == 0 ? 0 : 1;
}
