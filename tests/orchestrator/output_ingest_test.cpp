// ingest_outputs against the digests a worker computed where it ran (Slurm): the
// same bytes are taken in; different bytes are refused before anything moves.
#include "orchestrator/scheduler/output_ingest.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace radflow {
namespace {
namespace fs = std::filesystem;

class OutputIngest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-ingest-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
    auto store = storage::ArtifactStore::open(root_ + "/data");
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
    attempt_dir_ = root_ + "/attempt";
    fs::create_directories(attempt_dir_ + "/outputs");
    output_ = attempt_dir_ + "/outputs/out.txt";
    std::ofstream(output_) << "the bytes the worker wrote";
  }
  void TearDown() override {
    // The store makes what it keeps read-only.
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(root_, ec)) {
      fs::permissions(entry.path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(root_, ec);
  }
  std::string root_, attempt_dir_, output_;
  std::unique_ptr<storage::ArtifactStore> store_;
};

TEST_F(OutputIngest, SameDigestAsTheWorkersIsTakenIn) {
  auto digest = storage::digest_of(output_);
  ASSERT_TRUE(digest.ok());
  auto stored = ingest_outputs(*store_, attempt_dir_, {{"out", output_}}, {{"out", digest->digest}});
  ASSERT_TRUE(stored.ok()) << stored.status().to_string();
  EXPECT_EQ(stored->at("out").digest, digest->digest);
  EXPECT_TRUE(store_->contains(digest->digest));
}

TEST_F(OutputIngest, ADifferentDigestIsRefusedNamingTheOutputAndBothDigests) {
  auto digest = storage::digest_of(output_);
  ASSERT_TRUE(digest.ok());
  const std::string workers(64, '0');
  auto stored = ingest_outputs(*store_, attempt_dir_, {{"out", output_}}, {{"out", workers}});
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.status().code(), "output_digest_mismatch");
  const std::string message = stored.status().message();
  EXPECT_NE(message.find("output out"), std::string::npos) << message;
  EXPECT_NE(message.find(workers), std::string::npos) << message;
  EXPECT_NE(message.find(digest->digest), std::string::npos) << message;
  // Nothing moved: the output is where the worker left it, and not in the store.
  EXPECT_TRUE(fs::exists(output_));
  EXPECT_FALSE(store_->contains(digest->digest));

  // Once the shared filesystem shows the worker's bytes, the same call takes them in.
  std::ofstream(output_) << "what the worker hashed";
  auto now = storage::digest_of(output_);
  ASSERT_TRUE(now.ok());
  auto again = ingest_outputs(*store_, attempt_dir_, {{"out", output_}}, {{"out", now->digest}});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
}

TEST_F(OutputIngest, NoExpectedDigestsIsTheLocalPath) {
  auto stored = ingest_outputs(*store_, attempt_dir_, {{"out", output_}});
  ASSERT_TRUE(stored.ok()) << stored.status().to_string();
}

}  // namespace
}  // namespace radflow
