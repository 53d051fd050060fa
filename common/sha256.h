// SHA-256 (FIPS 180-4), incremental. Used for the content-addressed artifact store,
// plugin descriptor caching and step cache keys. Not thread-safe per instance.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace radflow {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size_bytes);
  void update(std::string_view text) { update(text.data(), text.size()); }
  // Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  // Lower-case hex of digest().
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);

  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffer_size_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

std::string sha256_hex(std::string_view text);
// Hashes a file's bytes; error code "io_error" names the file.
Result<std::string> sha256_file(const std::string& path);

}  // namespace radflow
