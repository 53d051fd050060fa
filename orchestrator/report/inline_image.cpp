#include "orchestrator/report/inline_image.h"

#include <fstream>
#include <iterator>

namespace radflow::report {

std::string base64(const std::string& bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t chunk = 0;
    for (size_t k = 0; k < 3; ++k) chunk = chunk << 8 | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(chunk >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

Result<std::string> png_data_uri(const std::string& path) {
  constexpr size_t kMaxBytes = 4u << 20;  // an overlay is a few hundred KiB at most
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error("io_error", "cannot read " + path, path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() > kMaxBytes || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
    return Status::error("bad_image", path + " is not a PNG of at most 4 MiB: not inlined", path);
  }
  return "data:image/png;base64," + base64(bytes);
}

}  // namespace radflow::report
