#include "plugins/ml/image/dicom_load.h"

#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "plugins/ml/image/image.h"

namespace radflow::ml {
namespace {

const char kDeflatedUid[] = "1.2.840.10008.1.2.1.99";

uint16_t u16(const std::string& b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) | static_cast<uint8_t>(b[at + 1]) << 8);
}
uint32_t u32(const std::string& b, size_t at) { return u16(b, at) | static_cast<uint32_t>(u16(b, at + 2)) << 16; }

bool long_length_vr(const std::string& vr) {
  static const char* const kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
  for (const char* v : kLong) {
    if (vr == v) return true;
  }
  return false;
}

std::string tag_name(uint16_t group, uint16_t element) {
  char text[16];
  std::snprintf(text, sizeof text, "(%04X,%04X)", group, element);
  return text;
}

// The transfer syntax UID of a Part 10 file and where its data set starts; an empty
// UID when the file has no preamble or meta header (DCMTK then guesses the syntax).
struct MetaHeader {
  std::string transfer_syntax;
  uint64_t dataset_offset = 0;
};

MetaHeader read_meta_header(std::ifstream& in) {
  MetaHeader meta;
  std::string head(132, '\0');
  if (!in.read(head.data(), 132) || head.compare(128, 4, "DICM") != 0) return meta;
  uint64_t offset = 132;
  std::string header(12, '\0');
  while (in.seekg(static_cast<std::streamoff>(offset)) && in.read(header.data(), 8) && u16(header, 0) == 0x0002) {
    const std::string vr = header.substr(4, 2);
    uint64_t length = u16(header, 6), header_bytes = 8;
    if (long_length_vr(vr)) {
      if (!in.read(header.data() + 8, 4)) break;
      length = u32(header, 8);
      header_bytes = 12;
    }
    if (u16(header, 2) == 0x0010 && length <= 64) {
      std::string uid(length, '\0');
      in.read(uid.data(), static_cast<std::streamsize>(length));
      while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' ')) uid.pop_back();
      meta.transfer_syntax = uid;
    }
    offset += header_bytes + length;
  }
  meta.dataset_offset = offset;
  in.clear();
  return meta;
}

// Inflates the raw deflate stream that follows the meta header, refusing more than
// `cap` bytes of output.
Status inflate_dataset(std::ifstream& in, uint64_t offset, uint64_t cap, const std::string& path,
                       std::string* out) {
  in.seekg(static_cast<std::streamoff>(offset));
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return image_error(path, "cannot start inflating");
  std::string input(64 << 10, '\0'), chunk(256 << 10, '\0');
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    in.read(input.data(), static_cast<std::streamsize>(input.size()));
    zs.next_in = reinterpret_cast<Bytef*>(input.data());
    zs.avail_in = static_cast<uInt>(in.gcount());
    if (zs.avail_in == 0) break;  // a truncated stream: DCMTK reports it
    do {
      zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
      zs.avail_out = static_cast<uInt>(chunk.size());
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        inflateEnd(&zs);
        return image_error(path, "damaged deflated data set");
      }
      out->append(chunk.data(), chunk.size() - zs.avail_out);
      if (out->size() > cap) {
        inflateEnd(&zs);
        return image_error(path, "deflated data set inflates to more than " + std::to_string(cap) + " bytes");
      }
    } while (zs.avail_out == 0 && rc != Z_STREAM_END);
  }
  inflateEnd(&zs);
  return Status();
}

// Walks the explicit VR little endian elements (and sequence items) of an inflated
// data set and checks every defined length against the bytes that follow. Anything
// the walk does not understand is refused, so DCMTK never reads a length unchecked.
Status check_element_lengths(const std::string& data, const std::string& path) {
  size_t pos = 0;
  bool in_fragments = false;  // inside encapsulated Pixel Data: items hold bytes
  while (pos < data.size()) {
    if (data.size() - pos < 8) return image_error(path, "deflated data set ends inside an element header");
    const uint16_t group = u16(data, pos), element = u16(data, pos + 2);
    if (group == 0xFFFE) {
      const uint32_t length = u32(data, pos + 4);
      pos += 8;
      if (element == 0xE0DD) in_fragments = false;
      if (element != 0xE000 || length == 0xFFFFFFFF) continue;  // delimiters; undefined items are walked
      if (length > data.size() - pos) {
        return image_error(path, "item at byte " + std::to_string(pos) + " declares " + std::to_string(length) +
                                     " bytes, " + std::to_string(data.size() - pos) + " remain");
      }
      if (in_fragments) pos += length;  // otherwise the item's elements are walked
      continue;
    }
    const std::string vr = data.substr(pos + 4, 2);
    if (vr.size() != 2 || vr[0] < 'A' || vr[0] > 'Z' || vr[1] < 'A' || vr[1] > 'Z') {
      return image_error(path, "deflated data set: element " + tag_name(group, element) + " has no valid VR");
    }
    uint64_t length = u16(data, pos + 6);
    pos += 8;
    if (long_length_vr(vr)) {
      if (data.size() - pos < 4) return image_error(path, "deflated data set ends inside an element header");
      length = u32(data, pos);
      pos += 4;
    }
    if (length == 0xFFFFFFFF) {
      if (group == 0x7FE0 && element == 0x0010) {
        in_fragments = true;
      } else if (vr != "SQ") {
        return image_error(path, "deflated data set: " + vr + " element " + tag_name(group, element) +
                                     " of undefined length is not supported");
      }
      continue;
    }
    if (length > data.size() - pos) {
      return image_error(path, "element " + tag_name(group, element) + " declares " + std::to_string(length) +
                                   " bytes, but only " + std::to_string(data.size() - pos) + " follow");
    }
    if (vr != "SQ") pos += length;
  }
  return Status();
}

// Non-deflated files: values are read lazily, so a declared length is only checked.
Status check_lazy_lengths(DcmDataset* ds, uint64_t file_bytes, const DicomLoadLimits& limits,
                          const std::string& path) {
  for (unsigned long i = 0; i < ds->card(); ++i) {
    DcmElement* element = ds->getElement(i);
    const uint32_t length = element->getLength();
    const DcmTagKey tag = element->getTag().getXTag();
    if (length != 0xFFFFFFFF && length > file_bytes) {
      return image_error(path, "element " + tag_name(tag.getGroup(), tag.getElement()) + " declares " +
                                   std::to_string(length) + " bytes, more than the file's " +
                                   std::to_string(file_bytes));
    }
    if (tag == DCM_PixelData && length != 0xFFFFFFFF && length > limits.max_value_bytes) {
      return image_error(path, "Pixel Data declares " + std::to_string(length) + " bytes (limit " +
                                   std::to_string(limits.max_value_bytes) + ")");
    }
  }
  return Status();
}

}  // namespace

Status load_dicom_file(const std::string& path, DcmFileFormat* file, const DicomLoadLimits& limits) {
  std::error_code ec;
  const uint64_t file_bytes = std::filesystem::file_size(path, ec);
  if (ec) return image_error(path, "cannot read: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) return image_error(path, "cannot open");
  const MetaHeader meta = read_meta_header(in);
  if (meta.transfer_syntax == kDeflatedUid) {
    std::string inflated;
    RF_RETURN_IF_ERROR(inflate_dataset(in, meta.dataset_offset, limits.max_value_bytes + kHeaderAllowanceBytes,
                                       path, &inflated));
    RF_RETURN_IF_ERROR(check_element_lengths(inflated, path));
  }
  const OFCondition cond = file->loadFile(path.c_str(), EXS_Unknown, EGL_noChange,
                                          static_cast<Uint32>(kLazyValueBytes), ERM_autoDetect);
  if (cond.bad()) return image_error(path, std::string("not a readable DICOM file: ") + cond.text());
  // An inflated value may well be longer than the compressed file.
  const bool deflated = meta.transfer_syntax == kDeflatedUid;
  return check_lazy_lengths(file->getDataset(), deflated ? UINT64_MAX : file_bytes, limits, path);
}

}  // namespace radflow::ml
