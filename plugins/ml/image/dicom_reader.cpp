#include "plugins/ml/image/dicom_reader.h"

#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <new>

#include "plugins/ml/image/dicom_load.h"
#include "plugins/ml/image/dicom_pixel_module.h"
#include "plugins/ml/image/j2k_decoder.h"

namespace radflow::ml {
namespace {

void register_codecs_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // DCMTK logs decoding problems to stderr itself; every failure is returned to the
    // caller as an Error instead, so keep its logger quiet.
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

bool is_j2k(E_TransferSyntax xfer) {
  return xfer == EXS_JPEG2000LosslessOnly || xfer == EXS_JPEG2000 ||
         xfer == EXS_JPEG2000MulticomponentLosslessOnly || xfer == EXS_JPEG2000Multicomponent;
}

// One native frame (in the host's byte order after DCMTK) into floats: shift out the
// bits below the stored range, mask, sign extend when PixelRepresentation is 1, then
// the modality LUT in double. Raw is the allocated sample type, Wide a signed type
// that holds every stored value; the loops are branch-free so that they vectorise.
template <typename Raw, typename Wide>
void convert_samples(const uint8_t* bytes, const PixelModule& pm, Uint16 planar, double slope, double intercept,
                     float* out) {
  const size_t pixels = static_cast<size_t>(pm.rows) * pm.cols, samples = pixels * pm.samples;
  const int shift = pm.high_bit + 1 - pm.bits_stored;
  const Wide mask = static_cast<Wide>((uint64_t{1} << pm.bits_stored) - 1);
  const Wide sign = pm.pixel_representation == 1 ? static_cast<Wide>(Wide{1} << (pm.bits_stored - 1)) : Wide{0};
  auto stored = [&](size_t i) {
    Raw raw;
    std::memcpy(&raw, bytes + i * sizeof(Raw), sizeof(Raw));
    const Wide v = static_cast<Wide>(raw >> shift) & mask;
    return (v ^ sign) - sign;
  };
  if (planar == 1) {  // colour by plane; the output is interleaved
    for (size_t p = 0; p < pixels; ++p) {
      for (int s = 0; s < pm.samples; ++s) {
        out[p * pm.samples + s] = static_cast<float>(stored(s * pixels + p) * slope + intercept);
      }
    }
  } else if (slope == 1.0 && intercept == 0.0) {
    for (size_t i = 0; i < samples; ++i) out[i] = static_cast<float>(stored(i));
  } else {
    for (size_t i = 0; i < samples; ++i) out[i] = static_cast<float>(static_cast<double>(stored(i)) * slope + intercept);
  }
}

void convert_native_frame(const uint8_t* bytes, const PixelModule& pm, Uint16 planar, double slope,
                          double intercept, float* out) {
  switch (pm.bits_allocated) {
    case 8:
      return convert_samples<uint8_t, int32_t>(bytes, pm, planar, slope, intercept, out);
    case 16:
      return convert_samples<uint16_t, int32_t>(bytes, pm, planar, slope, intercept, out);
    default:  // 32: read_pixel_module accepts 8, 16 and 32 only
      return convert_samples<uint32_t, int64_t>(bytes, pm, planar, slope, intercept, out);
  }
}

// Concatenates the fragments of one J2K frame: from its first fragment until one ends
// with the EOC marker (a frame may span several fragments).
Status j2k_frame_bytes(DcmPixelSequence* seq, Uint32 frame, long frames, const std::string& path,
                       std::vector<uint8_t>* bytes) {
  Uint32 item = 0;
  if (DcmCodec::determineStartFragment(frame, static_cast<Sint32>(frames), seq, item).bad()) {
    return image_error(path, "cannot locate JPEG 2000 fragment of frame " + std::to_string(frame));
  }
  bytes->clear();
  const unsigned long count = seq->card();
  for (; item < count; ++item) {
    DcmPixelItem* fragment = nullptr;
    Uint8* data = nullptr;
    if (seq->getItem(fragment, item).bad() || fragment->getUint8Array(data).bad()) {
      return image_error(path, "unreadable JPEG 2000 fragment " + std::to_string(item));
    }
    const Uint32 length = fragment->getLength();
    if (data != nullptr) bytes->insert(bytes->end(), data, data + length);
    size_t end = bytes->size();
    while (end > 0 && (*bytes)[end - 1] == 0) --end;  // fragments are padded to even length
    if (end >= 2 && (*bytes)[end - 2] == 0xFF && (*bytes)[end - 1] == 0xD9) break;
  }
  if (bytes->empty()) return image_error(path, "JPEG 2000 frame " + std::to_string(frame) + " is empty");
  return Status();
}

Status decode_j2k_frames(DcmPixelSequence* seq, const PixelModule& pm, int frames_to_read, double slope,
                         double intercept, const std::string& path, Image* image) {
  std::vector<uint8_t> bytes;
  J2kFrame decoded;
  for (int f = 0; f < frames_to_read; ++f) {
    RF_RETURN_IF_ERROR(j2k_frame_bytes(seq, static_cast<Uint32>(f), pm.frames, path, &bytes));
    std::string reason;
    // The header's size goes in so that a codestream claiming another size is refused
    // before OpenJPEG allocates for it.
    if (!decode_j2k(bytes.data(), bytes.size(), pm.rows, pm.cols, pm.samples, &decoded, &reason)) {
      return image_error(path, "frame " + std::to_string(f) + ": " + reason);
    }
    if (decoded.samples.size() != image->frame_size()) {
      return image_error(path, "JPEG 2000 frame " + std::to_string(f) + " has the wrong number of samples");
    }
    // Allocated once the first frame decoded: most damaged files fail before that.
    if (image->pixels.empty()) image->pixels.resize(image->frame_size() * image->frames);
    float* out = image->pixels.data() + static_cast<size_t>(f) * image->frame_size();
    // PS3.5 A.4.4: the data set, not the codestream, says whether samples are signed.
    // Where the two disagree (pydicom's J2K_pixelrep_mismatch.dcm: an unsigned 13-bit
    // codestream under PixelRepresentation 1) the sample's bits are read again as the
    // header says, at the codestream's precision, as pydicom does.
    const bool header_signed = pm.pixel_representation == 1;
    const int precision = decoded.precision > 0 && decoded.precision < 32 ? decoded.precision : pm.bits_stored;
    const bool reinterpret = decoded.is_signed != header_signed && precision < 32;
    const int64_t modulus = int64_t{1} << precision;
    for (size_t i = 0; i < decoded.samples.size(); ++i) {
      int64_t v = decoded.samples[i];
      if (reinterpret) {
        v &= modulus - 1;
        if (header_signed && v >= modulus / 2) v -= modulus;
      }
      out[i] = static_cast<float>(v * slope + intercept);
    }
  }
  // The codec undoes the reversible/irreversible colour transform: the output is RGB.
  if (pm.samples == 3) image->photometric = "RGB";
  return Status();
}

Status decode_frames(DcmDataset* ds, DcmPixelData* pixel_data, const PixelModule& pm, bool encapsulated,
                     int frames_to_read, double slope, double intercept, const std::string& path,
                     Image* image) {
  // read_pixel_module capped the frame size, so DCMTK's 32-bit arithmetic cannot
  // overflow; it must agree with ours, since convert_native_frame reads frame_bytes().
  Uint32 frame_size = 0;
  if (pixel_data->getUncompressedFrameSize(ds, frame_size).bad() || frame_size != pm.frame_bytes()) {
    return image_error(path, "cannot compute the frame size");
  }
  // A codec may report success on a damaged stream without writing every byte (valgrind
  // on the fuzz test), so its buffer is zeroed: no heap garbage may reach the pixels.
  // Native data is read from the file in full or not at all (10 MB less to clear).
  const Uint32 buffer_size = frame_size + (frame_size & 1);
  const std::unique_ptr<uint8_t[]> buffer(encapsulated ? new uint8_t[buffer_size]() : new uint8_t[buffer_size]);
  Uint32 start_fragment = 0;
  for (int f = 0; f < frames_to_read; ++f) {
    OFString color_model;
    OFCondition cond = pixel_data->getUncompressedFrame(ds, static_cast<Uint32>(f), start_fragment,
                                                        buffer.get(), buffer_size,
                                                        color_model);
    if (cond.bad()) {
      return image_error(path, "cannot decode frame " + std::to_string(f) + ": " + cond.text());
    }
    if (image->pixels.empty()) image->pixels.resize(image->frame_size() * image->frames);
    if (!color_model.empty()) image->photometric = color_model.c_str();
    // Decoders may rewrite PlanarConfiguration (RLE decodes colour by plane).
    Uint16 planar = pm.planar;
    (void)ds->findAndGetUint16(DCM_PlanarConfiguration, planar);
    convert_native_frame(buffer.get(), pm, pm.samples == 3 ? planar : 0, slope, intercept,
                         image->pixels.data() + static_cast<size_t>(f) * image->frame_size());
  }
  return Status();
}

std::string get_string(DcmDataset* ds, const DcmTagKey& tag) {
  OFString value;
  if (ds->findAndGetOFString(tag, value).bad()) return {};
  return value.c_str();
}

// The compressed fragments of encapsulated pixel data: how many, and their bytes.
Status fragments_of(DcmPixelData* pixel_data, E_TransferSyntax xfer, const std::string& path,
                    DcmPixelSequence** seq, uint64_t* bytes) {
  if (pixel_data->getEncapsulatedRepresentation(xfer, nullptr, *seq).bad() || *seq == nullptr) {
    return image_error(path, "compressed pixel data is not encapsulated in fragments");
  }
  *bytes = 0;
  for (unsigned long i = 0; i < (*seq)->card(); ++i) {
    DcmPixelItem* fragment = nullptr;
    if ((*seq)->getItem(fragment, i).good() && fragment != nullptr) *bytes += fragment->getLength();
  }
  return Status();
}

Result<Image> read_header_and_decode(const std::string& path, FrameSelection frames) {
  register_codecs_once();
  DcmFileFormat file;
  RF_RETURN_IF_ERROR(load_dicom_file(path, &file));
  DcmDataset* ds = file.getDataset();
  const E_TransferSyntax xfer = ds->getOriginalXfer();
  const DcmXfer xfer_info(xfer);

  PixelModule pm;
  RF_RETURN_IF_ERROR(read_pixel_module(ds, path, &pm));
  DcmElement* element = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) {
    return image_error(path, "no pixel data");
  }
  // DCMTK parses (7FE0,0010) as DcmPixelData only with a pixel VR (OB, OW); a damaged
  // VR gives another element class, which must not be cast (found by the fuzz test).
  if (element->ident() != EVR_PixelData) {
    return image_error(path, std::string("pixel data has an invalid VR (") + DcmVR(element->getVR()).getVRName() + ")");
  }
  auto* pixel_data = static_cast<DcmPixelData*>(element);

  Image image;
  image.rows = pm.rows;
  image.cols = pm.cols;
  image.samples_per_pixel = pm.samples;
  image.frames_in_file = static_cast<int>(pm.frames);
  image.frames = frames == FrameSelection::kAll ? image.frames_in_file : 1;
  image.bits_allocated = pm.bits_allocated;
  image.bits_stored = pm.bits_stored;
  image.pixel_signed = pm.pixel_representation == 1;
  image.photometric = pm.photometric;
  image.modality = get_string(ds, DCM_Modality);
  image.transfer_syntax_uid = xfer_info.getXferID();
  image.transfer_syntax_name = xfer_info.getXferName();
  Float64 value = 0;
  if (ds->findAndGetFloat64(DCM_RescaleSlope, value).good() && value != 0) image.rescale_slope = value;
  if (ds->findAndGetFloat64(DCM_RescaleIntercept, value).good()) image.rescale_intercept = value;
  if (ds->findAndGetFloat64(DCM_WindowCenter, value).good()) image.window_center = value;
  if (ds->findAndGetFloat64(DCM_WindowWidth, value).good() && value > 0) image.window_width = value;
  if (!image.window_width) image.window_center.reset();

  // Every size check happens before a pixel buffer is allocated.
  DcmPixelSequence* seq = nullptr;
  uint64_t stored_bytes = pixel_data->getLength();
  if (xfer_info.isEncapsulated()) {
    RF_RETURN_IF_ERROR(fragments_of(pixel_data, xfer, path, &seq, &stored_bytes));
  } else if (pm.photometric.rfind("YBR_FULL_422", 0) == 0 || pm.photometric.rfind("YBR_PARTIAL", 0) == 0) {
    return image_error(path, "unsupported uncompressed " + pm.photometric + " (subsampled colour)");
  }
  RF_RETURN_IF_ERROR(check_pixel_data_size(pm, image.frames, xfer_info.isEncapsulated(), stored_bytes,
                                           seq == nullptr ? 0 : seq->card(), path));

  if (is_j2k(xfer)) {
    RF_RETURN_IF_ERROR(decode_j2k_frames(seq, pm, image.frames, image.rescale_slope, image.rescale_intercept,
                                         path, &image));
  } else {
    if (xfer_info.isEncapsulated() && !pixel_data->canChooseRepresentation(EXS_LittleEndianExplicit, nullptr)) {
      return image_error(path, std::string("unsupported transfer syntax ") + xfer_info.getXferName() +
                                   " (" + xfer_info.getXferID() + ")");
    }
    if (xfer == EXS_RLELossless) RF_RETURN_IF_ERROR(check_rle_fragments(seq, pm, path));
    if (xfer == EXS_JPEGLSLossless || xfer == EXS_JPEGLSLossy) {
      RF_RETURN_IF_ERROR(check_jpegls_frames(seq, pm, image.frames, path));
    }
    RF_RETURN_IF_ERROR(decode_frames(ds, pixel_data, pm, xfer_info.isEncapsulated(), image.frames, image.rescale_slope,
                                     image.rescale_intercept, path, &image));
  }
  return image;
}

}  // namespace

Result<Image> read_dicom(const std::string& path, FrameSelection frames) {
  // The size checks bound every allocation we make; this is the backstop for one
  // inside a codec that they did not foresee: an error, never a crash.
  try {
    return read_header_and_decode(path, frames);
  } catch (const std::bad_alloc&) {
    return image_error(path, "out of memory while decoding (damaged header?)");
  }
}

}  // namespace radflow::ml
