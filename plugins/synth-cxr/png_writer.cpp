#include "plugins/synth-cxr/png_writer.h"

#include <cstdio>
#include <memory>

#include <png.h>

namespace radflow::synth {

Status write_png_gray8(const std::string& path, const std::vector<uint8_t>& pixels, int width, int height) {
  auto fail = [&path](const std::string& what) {
    return Status::error("png_write", "cannot write PNG " + path + ": " + what, path);
  };
  if (width <= 0 || height <= 0 || pixels.size() != static_cast<size_t>(width) * height) {
    return fail("pixel buffer size mismatch");
  }
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!file) return fail("cannot open for writing");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    return fail("libpng out of memory");
  }
  // libpng reports errors by longjmp; nothing with a destructor is created below.
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return fail("libpng error");
  }
  png_init_io(png, file.get());
  // Masks compress well even at the fastest level, and speed matters for 400 images.
  png_set_compression_level(png, 1);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y) {
    png_write_row(png, const_cast<png_bytep>(pixels.data() + static_cast<size_t>(y) * width));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fflush(file.get()) != 0) return fail("flush failed (disk full?)");
  return Status::ok_status();
}

}  // namespace radflow::synth
