#include "plugins/ml/image/dicom_pixel_module.h"

#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include "plugins/ml/image/image.h"

namespace radflow::ml {

Status read_pixel_module(DcmDataset* ds, const std::string& path, PixelModule* pm) {
  if (ds->findAndGetUint16(DCM_Rows, pm->rows).bad() || pm->rows == 0 ||
      ds->findAndGetUint16(DCM_Columns, pm->cols).bad() || pm->cols == 0) {
    return image_error(path, "missing or zero Rows/Columns (not an image?)");
  }
  if (ds->findAndGetUint16(DCM_BitsAllocated, pm->bits_allocated).bad()) {
    return image_error(path, "missing BitsAllocated");
  }
  if (ds->findAndGetUint16(DCM_BitsStored, pm->bits_stored).bad()) pm->bits_stored = pm->bits_allocated;
  if (ds->findAndGetUint16(DCM_HighBit, pm->high_bit).bad()) pm->high_bit = pm->bits_stored - 1;
  (void)ds->findAndGetUint16(DCM_SamplesPerPixel, pm->samples);
  (void)ds->findAndGetUint16(DCM_PixelRepresentation, pm->pixel_representation);
  (void)ds->findAndGetUint16(DCM_PlanarConfiguration, pm->planar);
  OFString photometric;
  if (ds->findAndGetOFString(DCM_PhotometricInterpretation, photometric).good()) {
    pm->photometric = photometric.c_str();
  }
  if (ds->tagExists(DCM_NumberOfFrames)) {
    Sint32 frames = 0;
    if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) {
      return image_error(path, "invalid NumberOfFrames");
    }
    pm->frames = frames;
  }
  if (pm->bits_allocated != 8 && pm->bits_allocated != 16 && pm->bits_allocated != 32) {
    return image_error(path, "unsupported BitsAllocated " + std::to_string(pm->bits_allocated) +
                                 " (8, 16 or 32 supported)");
  }
  if (pm->bits_stored == 0 || pm->bits_stored > pm->bits_allocated ||
      pm->high_bit >= pm->bits_allocated || pm->high_bit + 1 < pm->bits_stored) {
    return image_error(path, "inconsistent BitsStored/HighBit");
  }
  if (pm->samples != 1 && pm->samples != 3) {
    return image_error(path, "unsupported SamplesPerPixel " + std::to_string(pm->samples));
  }
  if (pm->frame_samples() > kMaxFrameSamples) {
    return image_error(path, "image too large: " + std::to_string(pm->cols) + "x" + std::to_string(pm->rows) +
                                 "x" + std::to_string(pm->samples) + " samples per frame (limit " +
                                 std::to_string(kMaxFrameSamples) + ")");
  }
  return Status();
}

Status check_pixel_data_size(const PixelModule& pm, int frames_to_read, bool encapsulated,
                             uint64_t stored_bytes, unsigned long fragments, const std::string& path) {
  if (!encapsulated) {
    const uint64_t needed = pm.frame_bytes() * static_cast<uint64_t>(pm.frames);
    if (stored_bytes < needed) {
      return image_error(path, "pixel data is truncated (" + std::to_string(stored_bytes) +
                                   " bytes, expected " + std::to_string(needed) + ")");
    }
    // Twice what the geometry holds (plus the padding byte) leaves room for files that
    // understate NumberOfFrames, and none for a damaged length.
    if (stored_bytes > 2 * needed + 1) {
      return image_error(path, "Pixel Data declares " + std::to_string(stored_bytes) + " bytes, but " +
                                   std::to_string(pm.rows) + "x" + std::to_string(pm.cols) + "x" +
                                   std::to_string(pm.samples) + " samples of " + std::to_string(pm.bits_allocated) +
                                   " bits in " + std::to_string(pm.frames) + " frame(s) hold " +
                                   std::to_string(needed));
    }
  } else {
    // Item 0 is the basic offset table; every frame starts a new fragment after it.
    if (fragments < 2 || static_cast<uint64_t>(pm.frames) > fragments - 1) {
      return image_error(path, "NumberOfFrames " + std::to_string(pm.frames) + " but the pixel data has " +
                                   std::to_string(fragments < 1 ? 0 : fragments - 1) + " fragments");
    }
    const uint64_t decoded_bytes = pm.frame_bytes() * static_cast<uint64_t>(frames_to_read);
    if (decoded_bytes > kSmallDecodeBytes && decoded_bytes / kMaxCompressionRatio > stored_bytes) {
      return image_error(path, "header declares " + std::to_string(decoded_bytes) +
                                   " bytes of pixels but only " + std::to_string(stored_bytes) +
                                   " compressed bytes are present");
    }
  }
  const uint64_t decoded_samples = pm.frame_samples() * static_cast<uint64_t>(frames_to_read);
  if (decoded_samples > kMaxDecodedSamples) {
    return image_error(path, "too many pixels to decode: " + std::to_string(frames_to_read) + " frames of " +
                                 std::to_string(pm.frame_samples()) + " samples (limit " +
                                 std::to_string(kMaxDecodedSamples) + " in all)");
  }
  return Status();
}

Status check_rle_fragments(DcmPixelSequence* seq, const PixelModule& pm, const std::string& path) {
  const uint32_t segments = static_cast<uint32_t>(pm.samples) * (pm.bits_allocated / 8);
  for (unsigned long i = 1; i < seq->card(); ++i) {
    const std::string where = "RLE fragment " + std::to_string(i) + ": ";
    DcmPixelItem* fragment = nullptr;
    Uint8* data = nullptr;
    if (seq->getItem(fragment, i).bad() || fragment == nullptr || fragment->getUint8Array(data).bad()) {
      return image_error(path, where + "unreadable");
    }
    const uint32_t length = fragment->getLength();
    if (data == nullptr || length < 64) return image_error(path, where + "shorter than its 64-byte header");
    auto header = [data](int k) {  // the RLE header is little endian in every syntax
      const Uint8* b = data + 4 * k;
      return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    };
    if (header(0) != segments) {
      return image_error(path, where + std::to_string(header(0)) + " segments, expected " +
                                   std::to_string(segments));
    }
    uint32_t previous = 64;
    for (uint32_t s = 0; s < segments; ++s) {
      const uint32_t offset = header(1 + static_cast<int>(s));
      if (offset < previous || offset >= length) {
        return image_error(path, where + "segment " + std::to_string(s) + " offset " + std::to_string(offset) +
                                     " outside the fragment (" + std::to_string(length) + " bytes)");
      }
      previous = offset;
    }
  }
  return Status();
}

namespace {

// The frame header and preset parameters of one JPEG-LS stream, checked up to its
// first scan header.
Status check_jpegls_stream(const Uint8* data, uint32_t length, const PixelModule& pm, const std::string& where,
                           const std::string& path) {
  auto u16 = [data](uint32_t at) { return static_cast<unsigned>(data[at] << 8 | data[at + 1]); };
  if (length < 4 || data[0] != 0xFF || data[1] != 0xD8) return image_error(path, where + "no JPEG SOI marker");
  uint32_t pos = 2;
  unsigned precision = 0;
  while (pos + 4 <= length) {
    if (data[pos] != 0xFF) return image_error(path, where + "damaged JPEG-LS marker stream");
    const Uint8 marker = data[pos + 1];
    if (marker == 0xFF) {
      ++pos;
      continue;
    }
    const unsigned segment = u16(pos + 2);
    if (segment < 2 || pos + 2 + segment > length) return image_error(path, where + "JPEG-LS segment past the fragment");
    const uint32_t body = pos + 4;
    if (marker == 0xF7) {  // SOF55
      if (segment < 8) return image_error(path, where + "short JPEG-LS frame header");
      precision = data[body];
      const unsigned lines = u16(body + 1), columns = u16(body + 3), components = data[body + 5];
      if (lines != pm.rows || columns != pm.cols || components != pm.samples) {
        return image_error(path, where + "JPEG-LS frame is " + std::to_string(columns) + "x" +
                                     std::to_string(lines) + "x" + std::to_string(components) +
                                     ", the DICOM header says " + std::to_string(pm.cols) + "x" +
                                     std::to_string(pm.rows) + "x" + std::to_string(pm.samples));
      }
      if (precision < 2 || precision > 16 || precision > pm.bits_allocated) {
        return image_error(path, where + "JPEG-LS precision " + std::to_string(precision) + " with BitsAllocated " +
                                     std::to_string(pm.bits_allocated));
      }
      if (segment != 8 + 3 * components) return image_error(path, where + "JPEG-LS frame header of the wrong length");
    } else if (marker == 0xF8 && segment >= 13 && data[body] == 1) {  // LSE preset parameters
      const unsigned maxval = u16(body + 1), t1 = u16(body + 3), t2 = u16(body + 5), t3 = u16(body + 7);
      if (precision == 0) return image_error(path, where + "JPEG-LS preset parameters before the frame header");
      const unsigned limit = (1u << precision) - 1;
      if (maxval > limit || (maxval != 0 && ((t1 != 0 && t1 > maxval) || (t2 != 0 && t2 > maxval) ||
                                             (t3 != 0 && t3 > maxval))) ||
          (t1 != 0 && t2 != 0 && t1 > t2) || (t2 != 0 && t3 != 0 && t2 > t3)) {
        return image_error(path, where + "invalid JPEG-LS preset parameters");
      }
    } else if (marker == 0xDA) {  // SOS: the header ends here
      if (precision == 0) return image_error(path, where + "JPEG-LS scan before the frame header");
      return Status();
    }
    pos += 2 + segment;
  }
  return image_error(path, where + "JPEG-LS stream without a scan header");
}

}  // namespace

Status check_jpegls_frames(DcmPixelSequence* seq, const PixelModule& pm, int frames_to_read,
                           const std::string& path) {
  for (int f = 0; f < frames_to_read; ++f) {
    const std::string where = "JPEG-LS frame " + std::to_string(f) + ": ";
    Uint32 item = 0;
    DcmPixelItem* fragment = nullptr;
    Uint8* data = nullptr;
    if (DcmCodec::determineStartFragment(static_cast<Uint32>(f), static_cast<Sint32>(pm.frames), seq, item).bad() ||
        seq->getItem(fragment, item).bad() || fragment == nullptr || fragment->getUint8Array(data).bad() ||
        data == nullptr) {
      return image_error(path, where + "cannot locate its fragment");
    }
    RF_RETURN_IF_ERROR(check_jpegls_stream(data, fragment->getLength(), pm, where, path));
  }
  return Status();
}

}  // namespace radflow::ml
