// PixelModule: the Image Pixel module attributes (rows, columns, bits, frames, ...)
// that read_dicom needs before it touches any pixel, and the size limits that stop a
// damaged or tampered header from making a decoder allocate absurdly (a 2 KB file that
// claims 65535 x 65535 pixels in 1000 frames). Internal to plugins/ml/image (used by
// dicom_reader.cpp). Plain data and pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

class DcmDataset;
class DcmPixelSequence;

namespace radflow::ml {

struct PixelModule {
  uint16_t rows = 0, cols = 0, samples = 1, bits_allocated = 0, bits_stored = 0, high_bit = 0;
  uint16_t pixel_representation = 0, planar = 0;
  long frames = 1;
  std::string photometric;

  uint64_t frame_samples() const { return uint64_t{rows} * cols * samples; }
  uint64_t frame_bytes() const { return frame_samples() * (bits_allocated / 8); }
};

// Reads and validates the module: non-zero Rows/Columns, BitsAllocated 8/16/32,
// consistent BitsStored/HighBit, 1 or 3 samples, NumberOfFrames >= 1, and one frame of
// at most kMaxFrameSamples samples.
Status read_pixel_module(DcmDataset* ds, const std::string& path, PixelModule* pm);

// One frame may hold at most 2^28 samples (16384 x 16384 grey), and one read at most
// 2^29 decoded samples (2 GiB of float32): far above any radiograph or CT series.
inline constexpr uint64_t kMaxFrameSamples = uint64_t{1} << 28;
inline constexpr uint64_t kMaxDecodedSamples = uint64_t{1} << 29;
// Compressed pixel data may decode to at most kMaxCompressionRatio times its size,
// unless the decoded bytes stay under kSmallDecodeBytes. Real images compress far less
// (lossless 2-4x, lossy ~10-50x); even a blank 4096 x 4096 16-bit JPEG-LS frame
// (ratio ~4000) is only 32 MiB.
inline constexpr uint64_t kMaxCompressionRatio = 4096;
inline constexpr uint64_t kSmallDecodeBytes = uint64_t{64} << 20;

// Checks, before anything is allocated, that decoding `frames_to_read` frames is
// plausible for what the file holds. Native: the pixel data holds every frame the
// header declares. Encapsulated: at least one fragment per declared frame (plus the
// offset table item), and the decoded size within the compression ratio limit.
Status check_pixel_data_size(const PixelModule& pm, int frames_to_read, bool encapsulated,
                             uint64_t stored_bytes, unsigned long fragments, const std::string& path);

// Checks every RLE fragment's 64-byte header: one segment per byte of each sample, and
// segment offsets inside the fragment. DCMTK 3.6.7's RLE decoder trusts these offsets
// and reads past the fragment when one is damaged (a crash found by the fuzz test), so
// read_dicom runs this first. RLE puts each frame in exactly one fragment (PS3.5 A.4.2).
Status check_rle_fragments(DcmPixelSequence* seq, const PixelModule& pm, const std::string& path);

// Checks the JPEG-LS frame header (SOF55) at the start of each frame to be read against
// the pixel module: lines = Rows, columns = Columns, components = SamplesPerPixel,
// precision 2..16 and at most BitsAllocated; and a preset-parameters segment (LSE 1)
// against ITU-T T.87 C.2.4.1.1. The CharLS copy inside DCMTK 3.6.7 asserts (aborts
// the process) on a stream whose size disagrees with the buffer DCMTK gives it (found
// by fuzz_dicom), so read_dicom runs this first.
Status check_jpegls_frames(DcmPixelSequence* seq, const PixelModule& pm, int frames_to_read,
                           const std::string& path);

}  // namespace radflow::ml
