#include "plugins/ml/image/image_writer.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "plugins/ml/image/image.h"

namespace radflow::ml {
namespace {

void png_write_error_fn(png_structp png, png_const_charp) { png_longjmp(png, 1); }
void png_write_warning_fn(png_structp, png_const_charp) {}

}  // namespace

Status write_png16(const std::string& path, const std::vector<float>& values, int rows, int cols,
                   int samples) {
  RF_CHECK(samples == 1 || samples == 3, "write_png16: samples must be 1 or 3");
  RF_CHECK(values.size() == static_cast<size_t>(rows) * cols * samples, "write_png16: size mismatch");
  std::vector<png_byte> data(values.size() * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    const auto v = static_cast<uint16_t>(std::lround(std::clamp(values[i], 0.0f, 1.0f) * 65535.0f));
    data[2 * i] = static_cast<png_byte>(v >> 8);  // PNG is big endian
    data[2 * i + 1] = static_cast<png_byte>(v & 0xFF);
  }
  std::vector<png_bytep> row_pointers(rows);
  for (int r = 0; r < rows; ++r) row_pointers[r] = data.data() + static_cast<size_t>(r) * cols * samples * 2;

  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return image_error(path, std::string("cannot create file: ") + std::strerror(errno));
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, png_write_error_fn, png_write_warning_fn);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
    return image_error(path, "PNG encoding failed");
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, static_cast<png_uint_32>(cols), static_cast<png_uint_32>(rows), 16,
               samples == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, row_pointers.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fclose(file) != 0) return image_error(path, "write failed");
  return Status();
}

Status write_npy(const std::string& path, const std::vector<float>& values,
                 const std::vector<size_t>& shape) {
  size_t count = 1;
  std::string dims;
  for (size_t d : shape) {
    count *= d;
    dims += std::to_string(d) + ", ";
  }
  RF_CHECK(count == values.size(), "write_npy: shape does not match the values");
  if (shape.size() > 1) dims.erase(dims.size() - 2, 1);  // "(2, 3)" but "(2,)"
  dims.pop_back();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';

  std::ofstream out(path, std::ios::binary);
  if (!out) return image_error(path, std::string("cannot create file: ") + std::strerror(errno));
  const char magic[] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.write(magic, sizeof magic);
  const auto length = static_cast<uint16_t>(header.size());
  const char length_bytes[] = {static_cast<char>(length & 0xFF), static_cast<char>(length >> 8)};
  out.write(length_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  // x86 and ARM Linux are little endian, as '<f4' says.
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
  out.close();
  if (!out) return image_error(path, "write failed");
  return Status();
}

}  // namespace radflow::ml
