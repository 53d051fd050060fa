#include "plugins/ml/image/image_reader.h"

#include <fstream>

#include "plugins/ml/image/dicom_reader.h"
#include "plugins/ml/image/raster_reader.h"

namespace radflow::ml {

Result<Image> read_image(const std::string& path, FrameSelection frames) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return image_error(path, "cannot open file");
  unsigned char head[8] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const std::streamsize got = in.gcount();
  if (got == 0) return image_error(path, "file is empty");
  if (got >= 8 && head[0] == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G') return read_png(path);
  if (got >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) return read_jpeg(path);
  return read_dicom(path, frames);
}

}  // namespace radflow::ml
