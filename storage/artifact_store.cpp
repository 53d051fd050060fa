#include "storage/artifact_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
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

// Clears every write bit on files; folders keep theirs so the tree can be
// removed.
Status make_files_read_only(const fs::path &root) {
  std::error_code ec;
  auto strip = [](const fs::path &file, std::error_code &ec) {
    fs::permissions(file, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove, ec);
  };
  if (fs::is_regular_file(fs::symlink_status(root, ec))) {
    strip(root, ec);
    return ec ? io_error("make read-only", root, ec) : Status();
  }
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && !ec) strip(it->path(), ec);
    if (ec) return io_error("make read-only", it->path(), ec);
  }
  return ec ? io_error("walk", root, ec) : Status();
}

// Deletes a tree whose files may be read-only (rm -rf needs write on folders
// only).
void remove_tree(const fs::path &path) {
  std::error_code ec;
  fs::remove_all(path, ec);
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

Result<StoredArtifact> ArtifactStore::put(const std::string &source_path) {
  RF_ASSIGN_OR_RETURN(StoredArtifact artifact, digest_of(source_path));
  const fs::path source(source_path);
  const fs::path target(path_of(artifact.digest));
  artifact.path = target.string();
  std::error_code ec;

  auto reuse_existing = [&]() -> Result<StoredArtifact> {
    remove_tree(source);
    return artifact;
  };
  if (fs::exists(target, ec)) return reuse_existing();

  fs::create_directories(target.parent_path(), ec);
  if (ec) return io_error("create", target.parent_path(), ec);
  RF_RETURN_IF_ERROR(make_files_read_only(source));

  fs::rename(source, target, ec);
  if (!ec) return artifact;
  // Another put() of the same content won the race (a folder cannot be renamed
  // onto a non-empty folder): its copy is as good as ours.
  if (fs::exists(target)) return reuse_existing();
  if (ec != std::errc::cross_device_link) return io_error("move into artifact store", source, ec);

  // Across filesystems: copy into staging on the store's filesystem first, so
  // the final rename still makes the artifact appear whole or not at all.
  const fs::path staging = fs::path(root_) / "staging" / (artifact.digest + "." + unique_suffix());
  ec.clear();
  fs::copy(source, staging, fs::copy_options::recursive, ec);
  if (ec) {
    remove_tree(staging);
    return io_error("copy into artifact store", source, ec);
  }
  RF_RETURN_IF_ERROR(make_files_read_only(staging));
  fs::rename(staging, target, ec);
  if (ec) {
    remove_tree(staging);
    if (fs::exists(target)) return reuse_existing();
    return io_error("move into artifact store", staging, ec);
  }
  remove_tree(source);
  return artifact;
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
