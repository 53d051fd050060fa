#include "plugins/ml/image/raster_reader.h"

#include <png.h>
#include <csetjmp>
#include <cstdio>
// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

#include <memory>
#include <vector>

namespace radflow::ml {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

Image natural_image(int rows, int cols, int samples, int bits, const char* format) {
  Image image;
  image.rows = rows;
  image.cols = cols;
  image.frames = 1;
  image.frames_in_file = 1;
  image.samples_per_pixel = samples;
  image.photometric = samples == 1 ? "MONOCHROME2" : "RGB";
  image.bits_allocated = bits;
  image.bits_stored = bits;
  image.transfer_syntax_name = format;
  image.pixels.resize(static_cast<size_t>(rows) * cols * samples);
  return image;
}

// libpng reports errors by longjmp; keep its message for the returned Error.
struct PngErrorState {
  char message[256] = "";
};
void png_error_fn(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngErrorState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", message);
  png_longjmp(png, 1);
}
void png_warning_fn(png_structp, png_const_charp) {}

// libjpeg reports errors through error_exit, which must not return.
struct JpegErrorState {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
};
void jpeg_error_fn(j_common_ptr cinfo) {
  auto* state = reinterpret_cast<JpegErrorState*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, state->message);
  std::longjmp(state->jump, 1);
}
void jpeg_silent_fn(j_common_ptr, int) {}

}  // namespace

Result<Image> read_png(const std::string& path) {
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) return image_error(path, "cannot open file");
  png_byte signature[8] = {};
  if (std::fread(signature, 1, 8, file.get()) != 8 || png_sig_cmp(signature, 0, 8) != 0) {
    return image_error(path, "not a PNG file");
  }
  PngErrorState state;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_error_fn, png_warning_fn);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return image_error(path, "out of memory");
  }
  // Everything touched after setjmp lives outside it, so a longjmp leaks nothing.
  std::vector<png_byte> data;
  std::vector<png_bytep> row_pointers;
  Image image;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return image_error(path, std::string("corrupt PNG: ") + state.message);
  }
  png_init_io(png, file.get());
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  const int color_type = png_get_color_type(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_alpha(png);
  png_read_update_info(png, info);
  const int rows = static_cast<int>(png_get_image_height(png, info));
  const int cols = static_cast<int>(png_get_image_width(png, info));
  const int channels = png_get_channels(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (channels != 1 && channels != 3) png_error(png, "unsupported channel count");
  data.resize(png_get_rowbytes(png, info) * rows);
  row_pointers.resize(rows);
  for (int r = 0; r < rows; ++r) row_pointers[r] = data.data() + r * png_get_rowbytes(png, info);
  png_read_image(png, row_pointers.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);

  image = natural_image(rows, cols, channels, depth, "PNG");
  const size_t count = image.pixels.size();
  for (size_t i = 0; i < count; ++i) {
    // PNG stores 16-bit samples big endian.
    image.pixels[i] = depth == 16 ? static_cast<float>(data[2 * i] << 8 | data[2 * i + 1])
                                  : static_cast<float>(data[i]);
  }
  return image;
}

Result<Image> read_jpeg(const std::string& path) {
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) return image_error(path, "cannot open file");
  jpeg_decompress_struct cinfo;
  JpegErrorState state;
  cinfo.err = jpeg_std_error(&state.mgr);
  state.mgr.error_exit = jpeg_error_fn;
  state.mgr.emit_message = jpeg_silent_fn;
  std::vector<JSAMPLE> row;
  Image image;
  if (setjmp(state.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return image_error(path, std::string("corrupt JPEG: ") + state.message);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, file.get());
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const int channels = cinfo.output_components;
  image = natural_image(static_cast<int>(cinfo.output_height), static_cast<int>(cinfo.output_width),
                        channels, 8, "JPEG");
  row.resize(static_cast<size_t>(cinfo.output_width) * channels);
  while (cinfo.output_scanline < cinfo.output_height) {
    const size_t r = cinfo.output_scanline;
    JSAMPROW rows[1] = {row.data()};
    jpeg_read_scanlines(&cinfo, rows, 1);
    for (size_t i = 0; i < row.size(); ++i) image.pixels[r * row.size() + i] = row[i];
  }
  // A file cut short decodes with gray filler and a warning; treat it as an error.
  const bool truncated = cinfo.err->num_warnings > 0;
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (truncated) return image_error(path, "corrupt or truncated JPEG data");
  return image;
}

}  // namespace radflow::ml
