#include "plugins/ml/data/manifest.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace radflow::ml::data {
namespace fs = std::filesystem;
namespace {

template <typename Getter>
std::vector<std::string> key_union(const std::vector<Record>& records, Getter get) {
  std::set<std::string> keys;
  for (const Record& r : records) {
    for (const auto& [key, value] : get(r)) keys.insert(key);
  }
  return {keys.begin(), keys.end()};
}

bool has_suffix(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string Manifest::resolve(const std::string& path) const {
  if (path.empty() || fs::path(path).is_absolute() || base_dir.empty()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

std::vector<std::string> Manifest::findings() const {
  return key_union(records, [](const Record& r) -> const auto& { return r.labels; });
}
std::vector<std::string> Manifest::mask_names() const {
  return key_union(records, [](const Record& r) -> const auto& { return r.masks; });
}
std::vector<std::string> Manifest::extra_columns() const {
  return key_union(records, [](const Record& r) -> const auto& { return r.extra; });
}

ManifestFormat format_for_path(const std::string& path) {
  return has_suffix(path, ".jsonl") || has_suffix(path, ".ndjson") ? ManifestFormat::kJsonl
                                                                   : ManifestFormat::kCsv;
}

Result<Manifest> read_manifest(const std::string& path, const ReadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error("manifest_io", "cannot open manifest " + path, path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::error("manifest_io", "cannot read manifest " + path, path);
  const std::string text = buffer.str();
  Result<Manifest> parsed = format_for_path(path) == ManifestFormat::kJsonl
                                ? parse_manifest_jsonl(text, path, options)
                                : parse_manifest_csv(text, path, options);
  if (!parsed.ok()) return parsed;
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  parsed->base_dir = (ec ? fs::path(path) : absolute).parent_path().lexically_normal().string();
  return parsed;
}

Status write_manifest(const Manifest& manifest, const std::string& path, ManifestFormat format) {
  const std::string text = format == ManifestFormat::kJsonl ? to_jsonl(manifest) : to_csv(manifest);
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::remove(temp.c_str());
      return Status::error("manifest_io", "cannot write manifest " + temp, path);
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    std::remove(temp.c_str());
    return Status::error("manifest_io", "cannot rename " + temp + " to " + path + ": " + ec.message(), path);
  }
  return Status::ok_status();
}

Status validate_manifest(const Manifest& manifest, FileCheck files) {
  std::set<std::string> seen;
  for (size_t i = 0; i < manifest.records.size(); ++i) {
    const Record& r = manifest.records[i];
    const std::string where = "record " + std::to_string(i) + " (" + r.path + ")";
    const std::string resolved = manifest.resolve(r.path);
    if (!seen.insert(resolved).second) {
      return Status::error("manifest_invalid", where + ": image listed twice", r.path);
    }
    if (files != FileCheck::kMustExist) continue;
    std::error_code ec;
    if (!fs::is_regular_file(resolved, ec)) {
      return Status::error("manifest_invalid", where + ": image file " + resolved + " does not exist", r.path);
    }
    for (const auto& [name, mask] : r.masks) {
      if (!fs::is_regular_file(manifest.resolve(mask), ec)) {
        return Status::error("manifest_invalid",
                             where + ": mask '" + name + "' file " + manifest.resolve(mask) + " does not exist",
                             mask);
      }
    }
  }
  return Status::ok_status();
}

}  // namespace radflow::ml::data
