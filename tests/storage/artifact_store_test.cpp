#include "storage/artifact_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "common/sha256.h"
#include "tests/storage/temp_dir.h"

namespace radflow::storage {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

using ArtifactStoreTest = testing::ArtifactStoreFixture;

TEST_F(ArtifactStoreTest, FileIsMovedUnderItsDigestAndMadeReadOnly) {
  write_file(dir_.sub("out.bin"), "weights");
  auto stored = store_->put(dir_.sub("out.bin"));
  ASSERT_TRUE(stored.ok()) << stored.status().to_string();
  EXPECT_EQ(stored->digest, sha256_hex("weights"));
  EXPECT_EQ(stored->kind, "file");
  EXPECT_EQ(stored->size_bytes, 7);
  EXPECT_EQ(stored->path, dir_.sub("data") + "/artifacts/sha256/" + stored->digest.substr(0, 2) +
                              "/" + stored->digest);
  EXPECT_EQ(stored->path, store_->path_of(stored->digest));
  EXPECT_FALSE(fs::exists(dir_.sub("out.bin")));
  EXPECT_EQ(read_file(stored->path), "weights");
  fs::perms perms = fs::status(stored->path).permissions();
  EXPECT_EQ(perms & fs::perms::owner_write, fs::perms::none);
  EXPECT_TRUE(store_->contains(stored->digest));
}

TEST_F(ArtifactStoreTest, SameContentIsStoredOnce) {
  write_file(dir_.sub("a/x.txt"), "same");
  write_file(dir_.sub("b/x.txt"), "same");
  auto first = store_->put(dir_.sub("a"));
  auto second = store_->put(dir_.sub("b"));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->digest, second->digest);
  EXPECT_EQ(first->path, second->path);
  EXPECT_FALSE(fs::exists(dir_.sub("b")));  // the duplicate source is deleted
  EXPECT_EQ(read_file(second->path + "/x.txt"), "same");
}

TEST_F(ArtifactStoreTest, FolderDigestIgnoresCreationOrderAndMatchesManifest) {
  std::vector<std::pair<std::string, std::string>> files = {
      {"b.txt", "bee"}, {"a/z.txt", "zed"}, {"a/b/c.bin", std::string("\0\1\2", 3)}, {"a.txt", ""}};
  write_file(dir_.sub("one/") + files[0].first, files[0].second);  // fixed order
  for (size_t i = 1; i < files.size(); ++i)
    write_file(dir_.sub("one/") + files[i].first, files[i].second);
  std::mt19937 rng(42);
  std::shuffle(files.begin(), files.end(), rng);
  for (const auto &[path, content] : files) write_file(dir_.sub("two/") + path, content);

  auto one = digest_of(dir_.sub("one"));
  auto two = digest_of(dir_.sub("two"));
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->digest, two->digest);
  EXPECT_EQ(one->kind, "dir");
  EXPECT_EQ(one->size_bytes, 9);

  // The documented manifest: sorted relative paths,
  // "<path>\t<sha256>\t<size>\n".
  std::string manifest;
  for (const auto &[path, content] :
       std::vector<std::pair<std::string, std::string>>{{"a.txt", ""},
                                                        {"a/b/c.bin", std::string("\0\1\2", 3)},
                                                        {"a/z.txt", "zed"},
                                                        {"b.txt", "bee"}}) {
    manifest += path + "\t" + sha256_hex(content) + "\t" + std::to_string(content.size()) + "\n";
  }
  EXPECT_EQ(one->digest, sha256_hex(manifest));

  write_file(dir_.sub("two/a/z.txt"),
             "zee");  // one changed byte changes the digest
  EXPECT_NE(digest_of(dir_.sub("two"))->digest, one->digest);
}

TEST_F(ArtifactStoreTest, SymlinkInFolderIsRejectedByName) {
  write_file(dir_.sub("out/real.txt"), "r");
  fs::create_symlink(dir_.sub("out/real.txt"), dir_.sub("out/link.txt"));
  auto stored = store_->put(dir_.sub("out"));
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.status().code(), "bad_artifact");
  EXPECT_NE(stored.status().message().find("link.txt"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_.sub("out/real.txt")));  // nothing moved
}

TEST_F(ArtifactStoreTest, MissingSourceIsNotFound) {
  EXPECT_EQ(store_->put(dir_.sub("nope")).status().code(), "not_found");
}

TEST_F(ArtifactStoreTest, ResolveFindsFilesAndRejectsEscapes) {
  write_file(dir_.sub("out/sub/f.txt"), "inner");
  write_file(dir_.sub("secret.txt"), "outside");
  auto stored = store_->put(dir_.sub("out"));
  ASSERT_TRUE(stored.ok());
  const std::string &digest = stored->digest;

  auto found = store_->resolve(digest, "sub/f.txt");
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  EXPECT_EQ(read_file(*found), "inner");

  for (const std::string bad : {"../secret.txt", "sub/../../secret.txt", "/etc/passwd", "..",
                                "sub/../../../../etc/passwd"}) {
    auto escaped = store_->resolve(digest, bad);
    ASSERT_FALSE(escaped.ok()) << bad;
    EXPECT_EQ(escaped.status().code(), "bad_path") << bad;
  }
  EXPECT_EQ(store_->resolve(digest, "sub/missing.txt").status().code(), "not_found");
  EXPECT_EQ(store_->resolve(digest, "sub").status().code(),
            "not_found");  // a folder
  EXPECT_EQ(store_->resolve("zz", "f.txt").status().code(), "bad_path");
  EXPECT_EQ(store_->resolve(std::string(64, '0'), "f.txt").status().code(), "not_found");

  // A symlink planted after put() still cannot lead out of the artifact.
  fs::create_symlink(dir_.sub("secret.txt"), stored->path + "/sneaky");
  EXPECT_EQ(store_->resolve(digest, "sneaky").status().code(), "bad_path");
}

TEST_F(ArtifactStoreTest, ResolveEmptyPathOfFileArtifact) {
  write_file(dir_.sub("f"), "x");
  auto stored = store_->put(dir_.sub("f"));
  ASSERT_TRUE(stored.ok());
  auto path = store_->resolve(stored->digest, "");
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(read_file(*path), "x");
}

}  // namespace
}  // namespace radflow::storage
