// libFuzzer target: an image file -> read_image() (image_reader.h), which picks the
// decoder by content: PNG, JPEG, else DICOM through DCMTK (its JPEG, JPEG-LS, RLE
// and deflate codecs) and OpenJPEG for JPEG 2000, plus the pixel-module checks of
// dicom_pixel_module.h. Half the inputs (by the last byte) read every frame, half
// only the first. For an image it returns it checks the Image contract (image.h):
// positive sizes, pixels == frames * rows * cols * samples, frames within the file's.
// DCMTK, libpng, libjpeg and OpenJPEG are Debian's uninstrumented builds: libFuzzer
// sees coverage of radflow's code only, ASan only the reads radflow's code makes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "plugins/ml/image/image_reader.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using radflow::fuzz::fail;
  static radflow::fuzz::InputFile input("image");
  const auto frames = size > 0 && (data[size - 1] & 1) ? radflow::ml::FrameSelection::kAll
                                                      : radflow::ml::FrameSelection::kFirst;
  auto image = radflow::ml::read_image(input.write(data, size), frames);
  if (!image.ok()) {
    if (image.status().code() != "image_error") fail("error code " + image.status().code());
    return 0;
  }
  if (image->rows <= 0 || image->cols <= 0 || image->frames <= 0 ||
      (image->samples_per_pixel != 1 && image->samples_per_pixel != 3)) {
    fail("image with sizes " + std::to_string(image->rows) + "x" + std::to_string(image->cols) +
         "x" + std::to_string(image->frames) + "x" + std::to_string(image->samples_per_pixel));
  }
  if (image->pixels.size() != image->frame_size() * static_cast<size_t>(image->frames)) {
    fail("pixels.size() != frames * rows * cols * samples");
  }
  if (image->frames > image->frames_in_file ||
      (frames == radflow::ml::FrameSelection::kFirst && image->frames != 1)) {
    fail("frames " + std::to_string(image->frames) + " of " + std::to_string(image->frames_in_file));
  }
  return 0;
}
