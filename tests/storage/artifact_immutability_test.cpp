// Stored artifacts are immutable and private to the store: read-only modes,
// hard-linked sources copied (never chmodded or taken over), verify().
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/sha256.h"
#include "storage/artifact_store.h"
#include "tests/storage/temp_dir.h"

namespace radflow::storage {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

class ArtifactImmutabilityTest : public testing::ArtifactStoreFixture {
 protected:
  static unsigned mode_of(const std::string &path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  static struct stat stat_of(const std::string &path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
  }
};

TEST_F(ArtifactImmutabilityTest, StoredFilesAre0444AndFolders0555) {
  write_file(dir_.sub("out/a.txt"), "a");
  write_file(dir_.sub("out/sub/b.txt"), "b");
  auto stored = store_->put(dir_.sub("out"));
  ASSERT_TRUE(stored.ok()) << stored.status().to_string();
  EXPECT_EQ(mode_of(stored->path), 0555u);
  EXPECT_EQ(mode_of(stored->path + "/sub"), 0555u);
  EXPECT_EQ(mode_of(stored->path + "/a.txt"), 0444u);
  EXPECT_EQ(mode_of(stored->path + "/sub/b.txt"), 0444u);
  write_file(dir_.sub("one.bin"), "one");
  auto file = store_->put(dir_.sub("one.bin"));
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(mode_of(file->path), 0444u);
}

TEST_F(ArtifactImmutabilityTest, HardLinkedFileIsCopiedNotTakenOver) {
  write_file(dir_.sub("user/dataset.bin"), "precious");
  fs::permissions(dir_.sub("user/dataset.bin"), fs::perms(0640), fs::perm_options::replace);
  fs::create_directories(dir_.sub("attempt"));
  fs::create_hard_link(dir_.sub("user/dataset.bin"), dir_.sub("attempt/out.bin"));
  const struct stat user = stat_of(dir_.sub("user/dataset.bin"));

  auto stored = store_->put(dir_.sub("attempt/out.bin"));
  ASSERT_TRUE(stored.ok()) << stored.status().to_string();
  EXPECT_EQ(read_file(stored->path), "precious");
  EXPECT_NE(stat_of(stored->path).st_ino, user.st_ino);  // a copy, not the user's inode
  EXPECT_EQ(mode_of(dir_.sub("user/dataset.bin")), 0640u);  // never chmodded
  EXPECT_EQ(stat_of(dir_.sub("user/dataset.bin")).st_nlink, 1u);
  EXPECT_FALSE(fs::exists(dir_.sub("attempt/out.bin")));  // only put()'s name went
  EXPECT_EQ(read_file(dir_.sub("user/dataset.bin")), "precious");
}

TEST_F(ArtifactImmutabilityTest, FolderWithAHardLinkedFileIsCopied) {
  write_file(dir_.sub("user/weights.bin"), "w");
  write_file(dir_.sub("out/own.txt"), "own");
  fs::create_hard_link(dir_.sub("user/weights.bin"), dir_.sub("out/weights.bin"));
  auto stored = store_->put(dir_.sub("out"));
  ASSERT_TRUE(stored.ok()) << stored.status().to_string();
  EXPECT_NE(stat_of(stored->path + "/weights.bin").st_ino,
            stat_of(dir_.sub("user/weights.bin")).st_ino);
  EXPECT_NE(mode_of(dir_.sub("user/weights.bin")) & 0200, 0u);  // still writable
  EXPECT_FALSE(fs::exists(dir_.sub("out")));
  EXPECT_TRUE(store_->verify(stored->digest).ok());
}

TEST_F(ArtifactImmutabilityTest, VerifyDetectsChangedContent) {
  write_file(dir_.sub("out/a.txt"), "a");
  auto folder = store_->put(dir_.sub("out"));
  write_file(dir_.sub("m.bin"), "model");
  auto file = store_->put(dir_.sub("m.bin"));
  ASSERT_TRUE(folder.ok() && file.ok());
  EXPECT_TRUE(store_->verify(folder->digest).ok());
  EXPECT_TRUE(store_->verify(file->digest).ok());

  fs::permissions(file->path, fs::perms::owner_write, fs::perm_options::add);
  write_file(file->path, "tampered");
  Status changed = store_->verify(file->digest);
  EXPECT_EQ(changed.code(), "corrupt_artifact");
  EXPECT_NE(changed.message().find(file->path), std::string::npos) << changed.message();
  EXPECT_NE(changed.message().find(sha256_hex("tampered")), std::string::npos);

  fs::permissions(folder->path, fs::perms::owner_all, fs::perm_options::replace);
  write_file(folder->path + "/extra.txt", "x");
  EXPECT_EQ(store_->verify(folder->digest).code(), "corrupt_artifact");

  EXPECT_EQ(store_->verify(std::string(64, '0')).code(), "not_found");
  EXPECT_EQ(store_->verify("../etc").code(), "bad_path");
}

TEST_F(ArtifactImmutabilityTest, GarbageCollectionKeepsReferencedAndYoungContent) {
  write_file(dir_.sub("keep.bin"), "keep");
  write_file(dir_.sub("drop/a.txt"), "12345");
  write_file(dir_.sub("drop/b.txt"), "678");
  auto keep = store_->put(dir_.sub("keep.bin"));
  auto drop = store_->put(dir_.sub("drop"));
  ASSERT_TRUE(keep.ok() && drop.ok());
  write_file(store_->root() + "/staging/dead.1", "half a copy");

  // Everything is younger than an hour: nothing goes.
  auto young = store_->collect_unreferenced({keep->digest}, GcMode::kDelete, 3600 * 1000);
  ASSERT_TRUE(young.ok());
  EXPECT_EQ(young->skipped_young, 1);
  EXPECT_TRUE(young->digests.empty());
  EXPECT_TRUE(store_->contains(drop->digest));

  auto dry = store_->collect_unreferenced({keep->digest}, GcMode::kDryRun, 0);
  ASSERT_TRUE(dry.ok());
  EXPECT_TRUE(dry->dry_run);
  EXPECT_EQ(dry->digests, std::vector<std::string>{drop->digest});
  EXPECT_EQ(dry->files, 3);             // a.txt, b.txt and the staging leftover
  EXPECT_EQ(dry->bytes, 5 + 3 + 11);
  EXPECT_EQ(dry->staging_entries, 1);
  EXPECT_TRUE(store_->contains(drop->digest));

  auto done = store_->collect_unreferenced({keep->digest}, GcMode::kDelete, 0);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->bytes, dry->bytes);
  EXPECT_FALSE(store_->contains(drop->digest));
  EXPECT_FALSE(fs::exists(store_->root() + "/staging/dead.1"));
  EXPECT_TRUE(store_->verify(keep->digest).ok());

  // A put() of collected content stores it again.
  write_file(dir_.sub("drop/a.txt"), "12345");
  write_file(dir_.sub("drop/b.txt"), "678");
  ASSERT_TRUE(store_->put(dir_.sub("drop")).ok());
  EXPECT_TRUE(store_->verify(drop->digest).ok());
}

TEST_F(ArtifactImmutabilityTest, ReusedContentCountsAsYoung) {
  write_file(dir_.sub("a.bin"), "same");
  auto first = store_->put(dir_.sub("a.bin"));
  ASSERT_TRUE(first.ok());
  // Backdate it, as if stored long ago.
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, first->path.c_str(), old, AT_SYMLINK_NOFOLLOW), 0);
  write_file(dir_.sub("b.bin"), "same");
  ASSERT_TRUE(store_->put(dir_.sub("b.bin")).ok());  // dedup refreshes it
  auto report = store_->collect_unreferenced({}, GcMode::kDelete, 60 * 1000);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->skipped_young, 1);
  EXPECT_TRUE(store_->contains(first->digest));
}

}  // namespace
}  // namespace radflow::storage
