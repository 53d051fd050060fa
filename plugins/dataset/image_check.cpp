#include "plugins/dataset/image_check.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/oflog/oflog.h>

namespace radflow::dataset {
namespace {

ImageCheck bad(std::string format, std::string reason) {
  ImageCheck check;
  check.format = std::move(format);
  check.reason = std::move(reason);
  return check;
}

uint32_t big_endian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

ImageCheck check_dicom(const std::string& path) {
  // Stopping at the pixel data makes DCMTK warn once per file; that is the point here.
  static const bool quiet = [] {
    OFLog::configure(OFLogger::ERROR_LOG_LEVEL);
    return true;
  }();
  (void)quiet;
  DcmFileFormat file;
  // Stop before the pixel data: headers only, so a huge image costs no more than a small one.
  const OFCondition loaded = file.loadFileUntilTag(path.c_str(), EXS_Unknown, EGL_noChange, 4096,
                                                   ERM_fileOnly, DCM_PixelData);
  if (loaded.bad()) return bad("dicom", std::string("unreadable DICOM header: ") + loaded.text());
  Uint16 rows = 0, columns = 0;
  DcmDataset* ds = file.getDataset();
  if (ds->findAndGetUint16(DCM_Rows, rows).bad() || ds->findAndGetUint16(DCM_Columns, columns).bad() ||
      rows == 0 || columns == 0) {
    return bad("dicom", "DICOM without Rows/Columns (not an image)");
  }
  ImageCheck check;
  check.ok = true;
  check.format = "dicom";
  check.width = columns;
  check.height = rows;
  OFString patient_id;
  if (ds->findAndGetOFString(DCM_PatientID, patient_id).good()) check.patient_id = patient_id.c_str();
  return check;
}

ImageCheck check_png(const std::vector<unsigned char>& head) {
  // Signature (8) + IHDR length (4) + "IHDR" (4) + width (4) + height (4).
  if (head.size() < 24 || std::memcmp(head.data() + 12, "IHDR", 4) != 0) return bad("png", "truncated PNG header");
  ImageCheck check;
  check.format = "png";
  check.width = static_cast<int>(big_endian32(head.data() + 16));
  check.height = static_cast<int>(big_endian32(head.data() + 20));
  check.ok = check.width > 0 && check.height > 0;
  if (!check.ok) check.reason = "PNG with zero size";
  return check;
}

ImageCheck check_jpeg(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Walk the marker segments to the first start-of-frame (SOF0..SOF15 except DHT,
  // JPG and DAC), which holds the size.
  size_t i = 2;
  while (i + 9 < bytes.size()) {
    if (bytes[i] != 0xFF) return bad("jpeg", "corrupt JPEG marker stream");
    const unsigned char marker = bytes[i + 1];
    if (marker == 0xFF) { ++i; continue; }
    const size_t length = (size_t{bytes[i + 2]} << 8) | bytes[i + 3];
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      ImageCheck check;
      check.format = "jpeg";
      check.height = (bytes[i + 5] << 8) | bytes[i + 6];
      check.width = (bytes[i + 7] << 8) | bytes[i + 8];
      check.ok = check.width > 0 && check.height > 0;
      if (!check.ok) check.reason = "JPEG with zero size";
      return check;
    }
    if (marker == 0xDA || length < 2) break;
    i += 2 + length;
  }
  return bad("jpeg", "truncated JPEG header (no frame header)");
}

}  // namespace

ImageCheck light_image_check(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return bad("", "missing");
  const auto size_bytes = std::filesystem::file_size(path, ec);
  if (ec || size_bytes == 0) return bad("", "empty");
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> head(132, 0);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (head.size() >= 8 && std::memcmp(head.data(), kPng, 8) == 0) return check_png(head);
  if (head.size() >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) return check_jpeg(path);
  if (head.size() >= 132 && std::memcmp(head.data() + 128, "DICM", 4) == 0) return check_dicom(path);
  return bad("", "unknown format (not DICOM Part 10, PNG or JPEG)");
}

}  // namespace radflow::dataset
