// ArtifactStore: content-addressed storage for step outputs under
// data_dir/artifacts/sha256/<first 2 hex>/<digest>.
//
// put() takes ownership of a file or folder: it hashes it, then moves it into
// place (rename, or copy + delete across filesystems), or deletes it when the
// same content is already stored (dedup). A file's digest is the sha256 of its
// bytes; a folder's is the sha256 of its manifest, one line per regular file in
// byte-sorted relative-path order: "<relpath>\t<file sha256>\t<size>\n" (empty
// folders are not part of it; symlinks and other special files are refused).
// Stored files are read-only; folders stay writable so the store can be
// cleaned.
//
// Thread-safe: concurrent put()s, even of the same content, are safe (the final
// rename is atomic; a loser finds the winner's copy and deletes its own
// source). Never throws: filesystem errors come back as Status ("io_error" and
// friends).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace radflow::storage {

struct StoredArtifact {
  std::string digest;      // lower-case hex sha256
  std::string kind;        // "file" or "dir"
  int64_t size_bytes = 0;  // for folders the sum over their files
  std::string path;        // where the content now lives
};

class ArtifactStore {
 public:
  // Creates data_dir/artifacts (and its staging folder) when missing.
  static Result<std::unique_ptr<ArtifactStore>> open(const std::string &data_dir);

  // Moves `source_path` (file or folder) into the store. Errors: "not_found"
  // (no source), "bad_artifact" (a symlink or special file, naming its path),
  // "io_error".
  Result<StoredArtifact> put(const std::string &source_path);

  // Where content with this digest lives (whether or not it exists).
  std::string path_of(const std::string &digest) const;
  bool contains(const std::string &digest) const;

  // The file `relative_path` inside folder artifact `digest` (empty path: the
  // artifact itself when it is a file). "bad_path" for a malformed digest, an
  // absolute path, a ".." component or anything that resolves outside the
  // artifact; "not_found" when the artifact or the file is missing.
  Result<std::string> resolve(const std::string &digest, const std::string &relative_path) const;

  const std::string &root() const { return root_; }

 private:
  explicit ArtifactStore(std::string root) : root_(std::move(root)) {}

  std::string root_;  // data_dir/artifacts
};

// The digest put() would give `path`, without moving anything. Also reports
// kind and total size. Exposed for the step cache and for tests.
Result<StoredArtifact> digest_of(const std::string &path);

}  // namespace radflow::storage
