#include "plugins/ml/image/image.h"

namespace radflow::ml {

std::vector<float> Image::frame_pixels(int frame) const {
  RF_CHECK(frame >= 0 && frame < frames, "frame_pixels: frame out of range");
  const auto begin = pixels.begin() + static_cast<std::ptrdiff_t>(frame * frame_size());
  return std::vector<float>(begin, begin + static_cast<std::ptrdiff_t>(frame_size()));
}

Error image_error(const std::string& path, const std::string& reason) {
  return Error{"image_error", path + ": " + reason, path};
}

}  // namespace radflow::ml
