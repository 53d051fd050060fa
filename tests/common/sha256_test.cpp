#include "common/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace radflow {
namespace {

// FIPS 180-4 / NIST example vectors.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += std::to_string(i * 7919);
  Sha256 hash;
  for (size_t at = 0; at < text.size(); at += 37) hash.update(text.substr(at, 37));
  EXPECT_EQ(hash.hex_digest(), sha256_hex(text));
}

TEST(Sha256, MissingFileIsAnError) {
  auto result = sha256_file("/nonexistent/radflow/file");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), "io_error");
  EXPECT_NE(result.status().message().find("/nonexistent/radflow/file"), std::string::npos);
}

}  // namespace
}  // namespace radflow
