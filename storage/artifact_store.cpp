#include "storage/artifact_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <system_error>
#include <vector>

#include "common/sha256.h"

namespace radflow::storage {

namespace fs = std::filesystem;

namespace {

Status io_error(const std::string &what, const fs::path &path, const std::error_code &ec) {
  return Status::error("io_error", what + " " + path.string() + ": " + ec.message(), path.string());
}

bool is_hex_digest(const std::string &digest) {
  return digest.size() == 64 && std::all_of(digest.begin(), digest.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

constexpr fs::perms kFileMode = fs::perms::owner_read | fs::perms::group_read |
                               fs::perms::others_read;  // 0444
constexpr fs::perms kDirMode = kFileMode | fs::perms::owner_exec | fs::perms::group_exec |
                               fs::perms::others_exec;  // 0555

// Visits `root` and, when it is a folder, everything under it (parents first).
Status walk(const fs::path &root,
            const std::function<Status(const fs::path &, const fs::file_status &)> &visit) {
  std::error_code ec;
  fs::file_status top = fs::symlink_status(root, ec);
  if (ec) return io_error("stat", root, ec);
  RF_RETURN_IF_ERROR(visit(root, top));
  if (!fs::is_directory(top)) return Status();
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    fs::file_status status = it->symlink_status(ec);
    if (ec) return io_error("stat", it->path(), ec);
    RF_RETURN_IF_ERROR(visit(it->path(), status));
  }
  return ec ? io_error("walk", root, ec) : Status();
}

Status set_mode(const fs::path &path, fs::perms mode) {
  std::error_code ec;
  fs::permissions(path, mode, fs::perm_options::replace, ec);
  return ec ? io_error("chmod", path, ec) : Status();
}

Status make_files_read_only(const fs::path &root) {
  return walk(root, [](const fs::path &path, const fs::file_status &status) {
    return fs::is_regular_file(status) ? set_mode(path, kFileMode) : Status();
  });
}

Status make_folders_read_only(const fs::path &root) {
  return walk(root, [](const fs::path &path, const fs::file_status &status) {
    return fs::is_directory(status) ? set_mode(path, kDirMode) : Status();
  });
}

Status fsync_path(const fs::path &path, bool directory) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return io_error("open for fsync", path, std::error_code(errno, std::generic_category()));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  return rc == 0 ? Status() : io_error("fsync", path, std::error_code(saved, std::generic_category()));
}

// Every file's data and every folder's entries under root (kFoldersOnly:
// the folders alone, once the files were synced before a rename).
enum class SyncWhat { kEverything, kFoldersOnly };
Status fsync_tree(const fs::path &root, SyncWhat what = SyncWhat::kEverything) {
  return walk(root, [what](const fs::path &path, const fs::file_status &status) {
    const bool folder = fs::is_directory(status);
    if (!folder && what == SyncWhat::kFoldersOnly) return Status();
    return fsync_path(path, folder);
  });
}

// The last put() of this content, which the GC's grace period counts from.
Status touch(const fs::path &path) {
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW) == 0) return Status();
  return io_error("touch", path, std::error_code(errno, std::generic_category()));
}

// true when some regular file under root has a second name elsewhere: its
// inode is not put()'s to take.
Result<bool> has_shared_files(const fs::path &root) {
  bool shared = false;
  RF_RETURN_IF_ERROR(walk(root, [&](const fs::path &path, const fs::file_status &status) {
    if (!fs::is_regular_file(status)) return Status();
    std::error_code ec;
    uintmax_t links = fs::hard_link_count(path, ec);
    if (ec) return io_error("stat", path, ec);
    shared = shared || links > 1;
    return Status();
  }));
  return shared;
}

// Deletes a tree the store made read-only (unlinking needs write on folders).
void remove_tree(const fs::path &path) {
  std::error_code ec;
  (void)walk(path, [](const fs::path &entry, const fs::file_status &status) {
    if (fs::is_directory(status)) (void)set_mode(entry, fs::perms::owner_all);
    return Status();
  });
  fs::remove_all(path, ec);
}

// Regular files under root and their total size.
void count_tree(const fs::path &root, int64_t &files, int64_t &bytes) {
  (void)walk(root, [&](const fs::path &path, const fs::file_status &status) {
    if (!fs::is_regular_file(status)) return Status();
    std::error_code ec;
    uintmax_t size = fs::file_size(path, ec);
    ++files;
    if (!ec) bytes += static_cast<int64_t>(size);
    return Status();
  });
}

int64_t age_ms(const fs::path &path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  const int64_t mtime_ms =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return now - mtime_ms;
}

std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

}  // namespace

Result<StoredArtifact> digest_of(const std::string &source_path) {
  const fs::path source(source_path);
  std::error_code ec;
  fs::file_status status = fs::symlink_status(source, ec);
  if (ec || !fs::exists(status)) {
    return Status::error("not_found", "no file or folder at " + source_path, source_path);
  }
  if (fs::is_regular_file(status)) {
    RF_ASSIGN_OR_RETURN(std::string digest, sha256_file(source_path));
    int64_t size = static_cast<int64_t>(fs::file_size(source, ec));
    if (ec) return io_error("stat", source, ec);
    return StoredArtifact{std::move(digest), "file", size, source_path};
  }
  if (!fs::is_directory(status)) {
    return Status::error("bad_artifact",
                         "artifact " + source_path + " is neither a regular file nor a folder",
                         source_path);
  }

  struct Entry {
    std::string relative;
    fs::path path;
  };
  std::vector<Entry> files;
  for (fs::recursive_directory_iterator it(source, ec), end; !ec && it != end; it.increment(ec)) {
    fs::file_status entry = it->symlink_status(ec);
    if (ec) return io_error("stat", it->path(), ec);
    if (fs::is_directory(entry)) continue;
    if (!fs::is_regular_file(entry)) {
      const char *what = fs::is_symlink(entry) ? "a symlink" : "a special file";
      return Status::error(
          "bad_artifact",
          "artifact folder " + source_path + " contains " + what + ": " + it->path().string(),
          it->path().string());
    }
    files.push_back({it->path().lexically_relative(source).generic_string(), it->path()});
  }
  if (ec) return io_error("walk", source, ec);
  // Byte order of the relative paths, so the digest ignores creation order.
  std::sort(files.begin(), files.end(),
            [](const Entry &a, const Entry &b) { return a.relative < b.relative; });

  Sha256 manifest;
  int64_t total = 0;
  for (const Entry &file : files) {
    RF_ASSIGN_OR_RETURN(std::string file_digest, sha256_file(file.path.string()));
    int64_t size = static_cast<int64_t>(fs::file_size(file.path, ec));
    if (ec) return io_error("stat", file.path, ec);
    total += size;
    manifest.update(file.relative + "\t" + file_digest + "\t" + std::to_string(size) + "\n");
  }
  return StoredArtifact{manifest.hex_digest(), "dir", total, source_path};
}

Result<std::unique_ptr<ArtifactStore>> ArtifactStore::open(const std::string &data_dir) {
  const fs::path root = fs::path(data_dir) / "artifacts";
  std::error_code ec;
  for (const fs::path &dir : {root / "sha256", root / "staging"}) {
    fs::create_directories(dir, ec);
    if (ec) return io_error("create", dir, ec);
  }
  return std::unique_ptr<ArtifactStore>(new ArtifactStore(root.string()));
}

std::string ArtifactStore::path_of(const std::string &digest) const {
  return (fs::path(root_) / "sha256" / digest.substr(0, 2) / digest).string();
}

bool ArtifactStore::contains(const std::string &digest) const {
  std::error_code ec;
  return is_hex_digest(digest) && fs::exists(path_of(digest), ec);
}

Status ArtifactStore::seal(const std::string &target_path) {
  const fs::path target(target_path);
  // Folders go read-only only now: renaming a folder to another parent needs
  // write permission on it (its ".." entry changes).
  RF_RETURN_IF_ERROR(make_folders_read_only(target));
  RF_RETURN_IF_ERROR(touch(target));  // a rename keeps the source's old mtime
  RF_RETURN_IF_ERROR(fsync_tree(target, SyncWhat::kFoldersOnly));
  // The entries naming it: sha256/<2 hex>/<digest> and sha256/<2 hex>.
  RF_RETURN_IF_ERROR(fsync_path(target.parent_path(), /*directory=*/true));
  return fsync_path(target.parent_path().parent_path(), /*directory=*/true);
}

Status ArtifactStore::copy_in(const std::string &source, const std::string &target,
                              const std::string &digest) {
  // Copy into staging on the store's filesystem first, so the final rename
  // still makes the artifact appear whole or not at all.
  const fs::path staging = fs::path(root_) / "staging" / (digest + "." + unique_suffix());
  std::error_code ec;
  fs::copy(source, staging, fs::copy_options::recursive, ec);
  if (ec) {
    remove_tree(staging);
    return io_error("copy into artifact store", source, ec);
  }
  Status ready = make_files_read_only(staging);
  if (ready.ok()) ready = fsync_tree(staging);
  if (!ready.ok()) {
    remove_tree(staging);
    return ready;
  }
  std::lock_guard<std::mutex> lock(mu_);
  fs::rename(staging, target, ec);
  if (ec) {
    remove_tree(staging);
    // Another put() of the same content won the race: its copy is as good.
    if (fs::exists(target)) return seal(target);
    return io_error("move into artifact store", staging, ec);
  }
  return seal(target);
}

Result<StoredArtifact> ArtifactStore::put(const std::string &source_path) {
  RF_ASSIGN_OR_RETURN(StoredArtifact artifact, digest_of(source_path));
  return put_hashed(std::move(artifact));
}

Result<StoredArtifact> ArtifactStore::put_hashed(StoredArtifact artifact) {
  const std::string source_path = artifact.path;
  const fs::path source(source_path);
  const fs::path target(path_of(artifact.digest));
  artifact.path = target.string();
  std::error_code ec;

  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fs::exists(target, ec)) {
      // Durable since its own put(); refreshed so the GC keeps it.
      RF_RETURN_IF_ERROR(touch(target));
      remove_tree(source);
      return artifact;
    }
  }
  fs::create_directories(target.parent_path(), ec);
  if (ec) return io_error("create", target.parent_path(), ec);

  RF_ASSIGN_OR_RETURN(bool shared, has_shared_files(source));
  if (!shared) {
    // Private content: make it read-only and durable where it is, then rename.
    RF_RETURN_IF_ERROR(make_files_read_only(source));
    RF_RETURN_IF_ERROR(fsync_tree(source));
    std::lock_guard<std::mutex> lock(mu_);
    fs::rename(source, target, ec);
    if (!ec) {
      RF_RETURN_IF_ERROR(seal(target.string()));
      return artifact;
    }
    // Another put() of the same content won the race (a folder cannot be
    // renamed onto a non-empty folder): its copy is as good as ours.
    if (fs::exists(target)) {
      RF_RETURN_IF_ERROR(seal(target.string()));
      remove_tree(source);
      return artifact;
    }
    if (ec != std::errc::cross_device_link) return io_error("move into artifact store", source, ec);
  }
  RF_RETURN_IF_ERROR(copy_in(source_path, target.string(), artifact.digest));
  // Only the source's own names go; a hard-linked file lives on under its
  // other names, untouched.
  remove_tree(source);
  return artifact;
}

Status ArtifactStore::verify(const std::string &digest) const {
  if (!is_hex_digest(digest)) {
    return Status::error("bad_path", "not a sha256 digest: '" + digest + "'");
  }
  const std::string path = path_of(digest);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) {
    return Status::error("not_found", "artifact " + digest + " not found", path);
  }
  Result<StoredArtifact> actual = digest_of(path);
  if (!actual.ok() || actual->digest != digest) {
    const std::string what =
        actual.ok() ? "its content now hashes to " + actual->digest : actual.status().message();
    return Status::error("corrupt_artifact",
                         "stored artifact " + path + " changed after it was stored (" + what +
                             "); delete it so the steps that made it run again",
                         path);
  }
  return Status();
}

Result<GcReport> ArtifactStore::collect_unreferenced(const std::vector<std::string> &referenced,
                                                     GcMode mode, int64_t min_age_ms) {
  GcReport report;
  report.dry_run = mode == GcMode::kDryRun;
  report.referenced_digests = static_cast<int64_t>(referenced.size());
  std::error_code ec;
  const fs::path objects = fs::path(root_) / "sha256";
  std::vector<fs::path> candidates;
  for (fs::directory_iterator shard(objects, ec), end; !ec && shard != end; shard.increment(ec)) {
    if (!shard->is_directory(ec)) continue;
    for (fs::directory_iterator it(shard->path(), ec); !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (is_hex_digest(name) && !std::binary_search(referenced.begin(), referenced.end(), name)) {
        candidates.push_back(it->path());
      }
    }
  }
  if (ec) return io_error("list", objects, ec);
  for (const fs::path &path : candidates) {
    std::lock_guard<std::mutex> lock(mu_);
    if (age_ms(path) < min_age_ms) {
      ++report.skipped_young;
      continue;
    }
    count_tree(path, report.files, report.bytes);
    report.digests.push_back(path.filename().string());
    if (mode == GcMode::kDelete) remove_tree(path);
  }
  const fs::path staging = fs::path(root_) / "staging";
  for (fs::directory_iterator it(staging, ec), end; !ec && it != end; it.increment(ec)) {
    if (age_ms(it->path()) < min_age_ms) continue;
    count_tree(it->path(), report.files, report.bytes);
    ++report.staging_entries;
    if (mode == GcMode::kDelete) remove_tree(it->path());
  }
  if (ec) return io_error("list", staging, ec);
  std::sort(report.digests.begin(), report.digests.end());
  return report;
}

Result<std::string> ArtifactStore::resolve(const std::string &digest,
                                           const std::string &relative_path) const {
  if (!is_hex_digest(digest)) {
    return Status::error("bad_path", "not a sha256 digest: '" + digest + "'");
  }
  const fs::path relative(relative_path);
  if (relative.is_absolute() || relative.has_root_name() || relative.has_root_directory()) {
    return Status::error("bad_path", "path must be relative: " + relative_path, relative_path);
  }
  for (const fs::path &part : relative) {
    if (part == "..") {
      return Status::error("bad_path", "path must not contain '..': " + relative_path,
                           relative_path);
    }
  }
  std::error_code ec;
  const fs::path base = fs::canonical(path_of(digest), ec);
  if (ec) return Status::error("not_found", "artifact " + digest + " not found");
  if (relative_path.empty()) {
    if (!fs::is_regular_file(base, ec)) {
      return Status::error("bad_path", "artifact " + digest + " is a folder: name a file in it");
    }
    return base.string();
  }
  // canonical() follows any symlink that got in after put(), so this check
  // holds even then.
  const fs::path resolved = fs::canonical(base / relative, ec);
  if (ec) {
    return Status::error("not_found", "no file " + relative_path + " in artifact " + digest,
                         relative_path);
  }
  const fs::path inside = resolved.lexically_relative(base);
  if (inside.empty() || *inside.begin() == "..") {
    return Status::error("bad_path", relative_path + " resolves outside artifact " + digest,
                         relative_path);
  }
  if (!fs::is_regular_file(resolved, ec)) {
    return Status::error("not_found", "no file " + relative_path + " in artifact " + digest,
                         relative_path);
  }
  return resolved.string();
}

}  // namespace radflow::storage
