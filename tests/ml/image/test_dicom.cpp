#include "tests/ml/image/test_dicom.h"

#include <fstream>
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcrlerp.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrplol.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>
#include <openjpeg.h>

#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace radflow::ml::testing {
namespace {

E_TransferSyntax xfer_of(Syntax s) {
  switch (s) {
    case Syntax::kExplicitLittle: return EXS_LittleEndianExplicit;
    case Syntax::kImplicitLittle: return EXS_LittleEndianImplicit;
    case Syntax::kExplicitBig: return EXS_BigEndianExplicit;
    case Syntax::kDeflated: return EXS_DeflatedLittleEndianExplicit;
    case Syntax::kRle: return EXS_RLELossless;
    case Syntax::kJpegLsLossless: return EXS_JPEGLSLossless;
    case Syntax::kJpegLossless: return EXS_JPEGProcess14SV1;
    case Syntax::kJ2kLossless: return EXS_JPEG2000LosslessOnly;
  }
  return EXS_Unknown;
}

void register_encoders_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    DJEncoderRegistration::registerCodecs();
    DJLSEncoderRegistration::registerCodecs();
    DcmRLEEncoderRegistration::registerCodecs();
  });
}

struct MemorySink {
  std::vector<uint8_t> data;
  size_t pos = 0;
};
OPJ_SIZE_T sink_write(void* buffer, OPJ_SIZE_T n, void* user) {
  auto* s = static_cast<MemorySink*>(user);
  if (s->data.size() < s->pos + n) s->data.resize(s->pos + n);
  std::memcpy(s->data.data() + s->pos, buffer, n);
  s->pos += n;
  return n;
}
OPJ_OFF_T sink_skip(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<MemorySink*>(user);
  s->pos += static_cast<size_t>(n);
  if (s->data.size() < s->pos) s->data.resize(s->pos);
  return n;
}
OPJ_BOOL sink_seek(OPJ_OFF_T at, void* user) {
  auto* s = static_cast<MemorySink*>(user);
  s->pos = static_cast<size_t>(at);
  if (s->data.size() < s->pos) s->data.resize(s->pos);
  return OPJ_TRUE;
}

// Lossless J2K codestream of one frame.
std::string encode_j2k(const TestImage& im, const int32_t* values, std::vector<uint8_t>* out) {
  opj_image_cmptparm_t params[3];
  std::memset(params, 0, sizeof params);
  for (int c = 0; c < im.samples; ++c) {
    params[c].dx = params[c].dy = 1;
    params[c].w = static_cast<OPJ_UINT32>(im.cols);
    params[c].h = static_cast<OPJ_UINT32>(im.rows);
    params[c].prec = static_cast<OPJ_UINT32>(im.bits_stored);
    params[c].sgnd = im.codestream_signed.value_or(im.is_signed) ? 1 : 0;
  }
  opj_image_t* image = opj_image_create(static_cast<OPJ_UINT32>(im.samples), params,
                                        im.samples == 1 ? OPJ_CLRSPC_GRAY : OPJ_CLRSPC_SRGB);
  image->x1 = static_cast<OPJ_UINT32>(im.cols);
  image->y1 = static_cast<OPJ_UINT32>(im.rows);
  const size_t pixels = static_cast<size_t>(im.rows) * im.cols;
  for (size_t p = 0; p < pixels; ++p) {
    for (int c = 0; c < im.samples; ++c) image->comps[c].data[p] = values[p * im.samples + c];
  }
  opj_cparameters_t cp;
  opj_set_default_encoder_parameters(&cp);
  cp.tcp_numlayers = 1;
  cp.tcp_rates[0] = 0;  // lossless
  cp.cp_disto_alloc = 1;
  cp.irreversible = 0;
  cp.tcp_mct = im.samples == 3 ? 1 : 0;
  // Each resolution level halves the image; tiny test images allow only a few.
  while (cp.numresolution > 1 && (1 << (cp.numresolution - 1)) > std::min(im.rows, im.cols)) {
    --cp.numresolution;
  }
  opj_codec_t* codec = opj_create_compress(OPJ_CODEC_J2K);
  MemorySink sink;
  opj_stream_t* stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_FALSE);
  opj_stream_set_user_data(stream, &sink, nullptr);
  opj_stream_set_write_function(stream, sink_write);
  opj_stream_set_skip_function(stream, sink_skip);
  opj_stream_set_seek_function(stream, sink_seek);
  const bool ok = opj_setup_encoder(codec, &cp, image) && opj_start_compress(codec, image, stream) &&
                  opj_encode(codec, stream) && opj_end_compress(codec, stream);
  opj_stream_destroy(stream);
  opj_destroy_codec(codec);
  opj_image_destroy(image);
  if (!ok) return "OpenJPEG encoding failed";
  *out = std::move(sink.data);
  if (out->size() & 1) out->push_back(0);
  return {};
}

}  // namespace

const char* syntax_name(Syntax s) {
  switch (s) {
    case Syntax::kExplicitLittle: return "ExplicitLittle";
    case Syntax::kImplicitLittle: return "ImplicitLittle";
    case Syntax::kExplicitBig: return "ExplicitBig";
    case Syntax::kDeflated: return "Deflated";
    case Syntax::kRle: return "Rle";
    case Syntax::kJpegLsLossless: return "JpegLsLossless";
    case Syntax::kJpegLossless: return "JpegLossless";
    case Syntax::kJ2kLossless: return "J2kLossless";
  }
  return "?";
}

std::string syntax_uid(Syntax s) { return DcmXfer(xfer_of(s)).getXferID(); }

std::vector<int32_t> pattern(const TestImage& im) {
  const int64_t levels = int64_t{1} << im.bits_stored;
  const int64_t low = im.is_signed ? -levels / 2 : 0;
  std::vector<int32_t> v(static_cast<size_t>(im.frames) * im.rows * im.cols * im.samples);
  for (size_t i = 0; i < v.size(); ++i) {
    // A multiplicative walk over the whole range, so extremes and sign bits occur.
    v[i] = static_cast<int32_t>(low + static_cast<int64_t>((i * 2654435761u + 12345u) % levels));
  }
  v[0] = static_cast<int32_t>(low);
  if (v.size() > 1) v[1] = static_cast<int32_t>(low + levels - 1);
  return v;
}

std::string write_dicom(const TestImage& im, Syntax syntax, const std::string& path) {
  register_encoders_once();
  DcmFileFormat file;
  DcmDataset* ds = file.getDataset();
  char uid[100];
  ds->putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  ds->putAndInsertString(DCM_SOPInstanceUID, im.sop_instance_uid.empty()
                                                 ? dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT)
                                                 : im.sop_instance_uid.c_str());
  ds->putAndInsertString(DCM_Modality, im.modality.c_str());
  ds->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(im.rows));
  ds->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(im.cols));
  ds->putAndInsertUint16(DCM_SamplesPerPixel, static_cast<Uint16>(im.samples));
  ds->putAndInsertString(DCM_PhotometricInterpretation, im.photometric.c_str());
  if (im.samples == 3) ds->putAndInsertUint16(DCM_PlanarConfiguration, static_cast<Uint16>(im.planar));
  ds->putAndInsertUint16(DCM_BitsAllocated, static_cast<Uint16>(im.bits_allocated));
  ds->putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(im.bits_stored));
  ds->putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(im.high_bit));
  ds->putAndInsertUint16(DCM_PixelRepresentation, im.is_signed ? 1 : 0);
  if (im.frames > 1) ds->putAndInsertString(DCM_NumberOfFrames, std::to_string(im.frames).c_str());
  auto put_number = [&](const DcmTagKey& tag, const std::optional<double>& v) {
    if (v) ds->putAndInsertString(tag, std::to_string(*v).substr(0, 16).c_str());
  };
  put_number(DCM_RescaleSlope, im.slope);
  put_number(DCM_RescaleIntercept, im.intercept);
  put_number(DCM_WindowCenter, im.window_center);
  put_number(DCM_WindowWidth, im.window_width);

  const E_TransferSyntax xfer = xfer_of(syntax);
  const size_t frame_count = static_cast<size_t>(im.rows) * im.cols * im.samples;
  if (syntax == Syntax::kJ2kLossless) {
    auto* pixel_data = new DcmPixelData(DCM_PixelData);
    auto* seq = new DcmPixelSequence(DCM_PixelSequenceTag);
    seq->insert(new DcmPixelItem(DCM_PixelItemTag));  // empty basic offset table
    for (int f = 0; f < im.frames; ++f) {
      std::vector<uint8_t> bytes;
      std::string error = encode_j2k(im, im.values.data() + f * frame_count, &bytes);
      if (!error.empty()) return error;
      auto* fragment = new DcmPixelItem(DCM_PixelItemTag);
      fragment->putUint8Array(bytes.data(), static_cast<unsigned long>(bytes.size()));
      seq->insert(fragment);
    }
    pixel_data->putOriginalRepresentation(xfer, nullptr, seq);
    ds->insert(pixel_data, true);
    if (im.samples == 3) ds->putAndInsertString(DCM_PhotometricInterpretation, "YBR_RCT");
  } else if (im.bits_allocated == 8) {
    std::vector<Uint8> bytes(im.values.size());
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<Uint8>(im.values[i]);
    ds->putAndInsertUint8Array(DCM_PixelData, bytes.data(), static_cast<unsigned long>(bytes.size()));
  } else {
    std::vector<Uint16> words(im.values.size());
    for (size_t i = 0; i < words.size(); ++i) words[i] = static_cast<Uint16>(im.values[i]);
    ds->putAndInsertUint16Array(DCM_PixelData, words.data(), static_cast<unsigned long>(words.size()));
  }

  OFCondition cond = EC_Normal;
  if (syntax == Syntax::kRle) {
    DcmRLERepresentationParameter params;
    cond = ds->chooseRepresentation(xfer, &params);
  } else if (syntax == Syntax::kJpegLsLossless) {
    DJLSRepresentationParameter params(0, OFTrue);
    cond = ds->chooseRepresentation(xfer, &params);
  } else if (syntax == Syntax::kJpegLossless) {
    DJ_RPLossless params(1, 0);
    cond = ds->chooseRepresentation(xfer, &params);
  }
  if (cond.bad()) return std::string("encoding failed: ") + cond.text();
  if (syntax != Syntax::kJ2kLossless && DcmXfer(xfer).isEncapsulated() && !ds->canWriteXfer(xfer)) {
    return "DCMTK cannot encode this image with " + std::string(syntax_name(syntax));
  }
  cond = file.saveFile(path.c_str(), xfer);
  if (cond.bad()) return std::string("save failed: ") + cond.text();
  return {};
}

namespace {
// Removes every folder temp_dir() made when the test binary exits.
struct TempDirs {
  std::mutex mutex;
  std::vector<std::string> made;
  ~TempDirs() {
    std::error_code ec;
    for (const std::string& dir : made) std::filesystem::remove_all(dir, ec);
  }
};
TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}
}  // namespace

std::string temp_dir() {
  std::string pattern_path = (std::filesystem::temp_directory_path() / "radflow-image-test-XXXXXX").string();
  if (mkdtemp(pattern_path.data()) == nullptr) return {};
  std::lock_guard<std::mutex> lock(temp_dirs().mutex);
  temp_dirs().made.push_back(pattern_path);
  return pattern_path;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace radflow::ml::testing
