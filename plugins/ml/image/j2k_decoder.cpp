#include "plugins/ml/image/j2k_decoder.h"

#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace radflow::ml {
namespace {

// OpenJPEG reads through callbacks; this is the in-memory source they read from.
struct MemorySource {
  const uint8_t* data;
  size_t size;
  size_t offset;
};

OPJ_SIZE_T read_fn(void* buffer, OPJ_SIZE_T bytes, void* user) {
  auto* src = static_cast<MemorySource*>(user);
  if (src->offset >= src->size) return static_cast<OPJ_SIZE_T>(-1);  // end of stream
  const size_t n = std::min<size_t>(bytes, src->size - src->offset);
  std::memcpy(buffer, src->data + src->offset, n);
  src->offset += n;
  return n;
}

OPJ_OFF_T skip_fn(OPJ_OFF_T bytes, void* user) {
  auto* src = static_cast<MemorySource*>(user);
  if (bytes < 0) return -1;
  const size_t n = std::min<size_t>(static_cast<size_t>(bytes), src->size - src->offset);
  src->offset += n;
  return static_cast<OPJ_OFF_T>(n);
}

OPJ_BOOL seek_fn(OPJ_OFF_T position, void* user) {
  auto* src = static_cast<MemorySource*>(user);
  if (position < 0 || static_cast<size_t>(position) > src->size) return OPJ_FALSE;
  src->offset = static_cast<size_t>(position);
  return OPJ_TRUE;
}

// OpenJPEG reports errors through a callback; keep the last one for the message.
void error_fn(const char* message, void* user) {
  auto* text = static_cast<std::string*>(user);
  *text = message;
  while (!text->empty() && (text->back() == '\n' || text->back() == ' ')) text->pop_back();
}
void quiet_fn(const char*, void*) {}

}  // namespace

bool decode_j2k(const uint8_t* data, size_t size, int rows, int cols, int components, J2kFrame* frame,
                std::string* error) {
  static const uint8_t kJp2Magic[] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' '};
  if (size < 12) {
    *error = "JPEG 2000 frame is empty or truncated";
    return false;
  }
  const bool is_jp2 = std::memcmp(data, kJp2Magic, sizeof kJp2Magic) == 0;
  if (!is_jp2 && !(data[0] == 0xFF && data[1] == 0x4F)) {
    *error = "JPEG 2000 frame does not start with a codestream (SOC) marker";
    return false;
  }
  std::unique_ptr<opj_codec_t, decltype(&opj_destroy_codec)> codec(
      opj_create_decompress(is_jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K), opj_destroy_codec);
  std::string opj_error;
  opj_set_error_handler(codec.get(), error_fn, &opj_error);
  opj_set_warning_handler(codec.get(), quiet_fn, nullptr);
  opj_set_info_handler(codec.get(), quiet_fn, nullptr);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(codec.get(), &params)) {
    *error = "OpenJPEG decoder setup failed";
    return false;
  }

  MemorySource source{data, size, 0};
  std::unique_ptr<opj_stream_t, decltype(&opj_stream_destroy)> stream(
      opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE), opj_stream_destroy);
  opj_stream_set_user_data(stream.get(), &source, nullptr);
  opj_stream_set_user_data_length(stream.get(), size);
  opj_stream_set_read_function(stream.get(), read_fn);
  opj_stream_set_skip_function(stream.get(), skip_fn);
  opj_stream_set_seek_function(stream.get(), seek_fn);

  opj_image_t* raw = nullptr;
  const bool header_ok = opj_read_header(stream.get(), codec.get(), &raw);
  std::unique_ptr<opj_image_t, decltype(&opj_image_destroy)> image(raw, opj_image_destroy);
  if (!header_ok || !image) {
    *error = "JPEG 2000 header unreadable" + (opj_error.empty() ? "" : ": " + opj_error);
    return false;
  }
  const uint64_t width = image->x1 > image->x0 ? image->x1 - image->x0 : 0;
  const uint64_t height = image->y1 > image->y0 ? image->y1 - image->y0 : 0;
  if (width != static_cast<uint64_t>(cols) || height != static_cast<uint64_t>(rows) ||
      image->numcomps != static_cast<OPJ_UINT32>(components)) {
    *error = "JPEG 2000 frame is " + std::to_string(width) + "x" + std::to_string(height) + "x" +
             std::to_string(image->numcomps) + " but the header says " + std::to_string(cols) + "x" +
             std::to_string(rows) + "x" + std::to_string(components);
    return false;
  }
  if (components != 1 && components != 3) {
    *error = "JPEG 2000 frame has " + std::to_string(components) + " components (1 or 3 supported)";
    return false;
  }
  if (!opj_decode(codec.get(), stream.get(), image.get()) || !opj_end_decompress(codec.get(), stream.get())) {
    *error = "JPEG 2000 decoding failed" + (opj_error.empty() ? "" : ": " + opj_error);
    return false;
  }
  const opj_image_comp_t& c0 = image->comps[0];
  for (int c = 0; c < components; ++c) {
    const opj_image_comp_t& comp = image->comps[c];
    if (comp.w != static_cast<OPJ_UINT32>(cols) || comp.h != static_cast<OPJ_UINT32>(rows) ||
        comp.data == nullptr) {
      *error = "JPEG 2000 components are subsampled or missing (not supported)";
      return false;
    }
  }
  frame->rows = static_cast<int>(c0.h);
  frame->cols = static_cast<int>(c0.w);
  frame->components = components;
  frame->precision = static_cast<int>(c0.prec);
  frame->is_signed = c0.sgnd != 0;
  const size_t count = static_cast<size_t>(c0.w) * c0.h;
  frame->samples.resize(count * components);
  for (size_t i = 0; i < count; ++i) {
    for (int c = 0; c < components; ++c) {
      frame->samples[i * components + c] = image->comps[c].data[i];
    }
  }
  return true;
}

}  // namespace radflow::ml
