// ArtifactStore: content-addressed storage for step outputs under
// data_dir/artifacts/sha256/<first 2 hex>/<digest>.
//
// put() takes ownership of a file or folder: it hashes it, then moves it into
// place, or deletes it when the same content is already stored (dedup). Only
// a private source is renamed in: when any of its files has another hard link
// (st_nlink > 1) the content is copied instead (as across filesystems), so the
// store never chmods nor shares an inode with a file someone else holds; the
// source's own names are then removed. A file's digest is the sha256 of its
// bytes; a folder's is the sha256 of its manifest, one line per regular file in
// byte-sorted relative-path order: "<relpath>\t<file sha256>\t<size>\n" (empty
// folders are not part of it; symlinks and other special files are refused).
//
// Stored artifacts are immutable: files 0444, folders 0555 (mode is not part
// of the digest). put() fsyncs every stored file and folder and the folders
// that name them before it returns, so a step recorded as done after put()
// survives power loss. verify() re-hashes a stored artifact.
//
// Thread-safe: concurrent put()s, even of the same content, are safe (the final
// rename is atomic; a loser finds the winner's copy and deletes its own
// source). Never throws: filesystem errors come back as Status ("io_error" and
// friends).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/records.h"

namespace radflow::storage {

enum class GcMode { kDryRun, kDelete };

// Unreferenced stored artifacts younger than this are left alone: put()
// stores content before its artifact row is added.
constexpr int64_t kGcGraceMs = 10 * 60 * 1000;

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
  // put() for a source the caller has just hashed: `hashed` is digest_of(its
  // path), and nothing has written to the source since. Saves reading it twice
  // (a second for a checkpoint of a few GB).
  Result<StoredArtifact> put_hashed(StoredArtifact hashed);

  // Where content with this digest lives (whether or not it exists).
  std::string path_of(const std::string &digest) const;
  bool contains(const std::string &digest) const;

  // The file `relative_path` inside folder artifact `digest` (empty path: the
  // artifact itself when it is a file). "bad_path" for a malformed digest, an
  // absolute path, a ".." component or anything that resolves outside the
  // artifact; "not_found" when the artifact or the file is missing.
  Result<std::string> resolve(const std::string &digest, const std::string &relative_path) const;

  // Re-hashes stored artifact `digest` and compares: OK when the content
  // still has that digest; "corrupt_artifact" (naming the path and what it
  // hashes to now) when it changed; "not_found" when it is missing;
  // "bad_path" for a malformed digest. Reads every byte (see storage/README.md
  // for its speed).
  Status verify(const std::string &digest) const;

  // Garbage collection, called by Store::collect_garbage with the digests
  // artifact rows reference (sorted). Removes every other stored artifact, and
  // every staging leftover, whose last put() is older than min_age_ms; kDryRun
  // only reports. put() refreshes a reused artifact under the same lock, so
  // content that a concurrent put() is about to reference is never removed.
  Result<GcReport> collect_unreferenced(const std::vector<std::string> &referenced, GcMode mode,
                                        int64_t min_age_ms);

  const std::string &root() const { return root_; }

 private:
  explicit ArtifactStore(std::string root) : root_(std::move(root)) {}
  // Copies `source` into staging, then renames the copy to `target`.
  Status copy_in(const std::string &source, const std::string &target, const std::string &digest);
  // After content landed at `target`: folders 0555, mtime now (the GC's age),
  // its folders (and the two naming it) fsynced; its files were before. Caller holds mu_.
  Status seal(const std::string &target);

  std::string root_;  // data_dir/artifacts
  std::mutex mu_;     // orders put()'s final step against the GC's removals
};

// The digest put() would give `path`, without moving anything. Also reports
// kind and total size. Exposed for the step cache and for tests.
Result<StoredArtifact> digest_of(const std::string &path);

}  // namespace radflow::storage
