#include "common/sha256.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <openssl/evp.h>

namespace radflow {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  RF_CHECK(ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1,
           "OpenSSL could not start a SHA-256 digest");
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(const void* data, size_t size_bytes) {
  RF_CHECK(!finished_, "Sha256::update after digest()");
  RF_CHECK(EVP_DigestUpdate(ctx_, data, size_bytes) == 1, "OpenSSL SHA-256 update failed");
}

std::array<uint8_t, 32> Sha256::digest() {
  RF_CHECK(!finished_, "Sha256::digest called twice");
  finished_ = true;
  std::array<uint8_t, 32> out{};
  unsigned int size = 0;
  RF_CHECK(EVP_DigestFinal_ex(ctx_, out.data(), &size) == 1 && size == out.size(),
           "OpenSSL SHA-256 final failed");
  return out;
}

std::string Sha256::hex_digest() {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (uint8_t byte : digest()) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 15]);
  }
  return out;
}

std::string sha256_hex(std::string_view text) {
  Sha256 hash;
  hash.update(text);
  return hash.hex_digest();
}

Result<std::string> sha256_file(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Status::error("io_error", "cannot open " + path + ": " + std::strerror(errno), path);
  }
  Sha256 hash;
  static thread_local std::vector<char> buffer(1 << 20);
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) hash.update(buffer.data(), n);
  bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return Status::error("io_error", "cannot read " + path, path);
  return hash.hex_digest();
}

}  // namespace radflow
