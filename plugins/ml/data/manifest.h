// Manifest: the table of Records that describes a dataset, as written by the data
// plugins (synth-cxr, dataset) and read by the training and evaluation plugins.
//
// Two file formats carry the same fields (docs in plugins/ml/README.md):
//   CSV   header: path, split, age, sex, report, label:<finding>..., mask:<structure>...,
//         any other column -> Record::extra. RFC 4180 quoting. Empty cells mean
//         "unknown" (label), "none" (mask, extra) or "not given" (age, sex).
//   JSONL one object per line: {"path", "split", "age", "sex", "report",
//         "labels": {finding: 0|1}, "masks": {structure: path}, "extra": {k: "v"}}.
// Relative paths are relative to the manifest file's folder (Manifest::base_dir).
//
// Errors are values (Status code "manifest_invalid", "manifest_io"); messages and
// Error::path name the file, the line and the column ("m.csv:12:4" or "m.jsonl:3:age").
// A Manifest is a value type; the free functions are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/ml/data/record.h"

namespace radflow::ml::data {

enum class ManifestFormat { kCsv, kJsonl };
enum class SplitRule { kRequired, kOptional };

struct ReadOptions {
  // kOptional lets a label table without split column (or with empty cells) load;
  // its records stay Split::kUnassigned.
  SplitRule split = SplitRule::kRequired;
};

struct Manifest {
  std::string base_dir;  // absolute folder that relative paths are resolved against
  std::vector<Record> records;

  // `path` made absolute against base_dir (unchanged when already absolute).
  std::string resolve(const std::string& path) const;
  // Sorted unions over all records, i.e. the label:/mask:/extra columns written.
  std::vector<std::string> findings() const;
  std::vector<std::string> mask_names() const;
  std::vector<std::string> extra_columns() const;
};

// Chooses the format by extension: ".jsonl" / ".ndjson" -> JSONL, anything else CSV.
ManifestFormat format_for_path(const std::string& path);

// Reads and checks a manifest file; base_dir becomes the file's absolute folder.
Result<Manifest> read_manifest(const std::string& path, const ReadOptions& options = {});
// Parses text; `file_name` is used in messages only, base_dir is left empty.
Result<Manifest> parse_manifest_csv(std::string_view text, const std::string& file_name,
                                    const ReadOptions& options = {});
Result<Manifest> parse_manifest_jsonl(std::string_view text, const std::string& file_name,
                                      const ReadOptions& options = {});

std::string to_csv(const Manifest& manifest);
std::string to_jsonl(const Manifest& manifest);
// Writes atomically (temp file + rename) in the given format.
Status write_manifest(const Manifest& manifest, const std::string& path, ManifestFormat format);

enum class FileCheck { kSkip, kMustExist };
// Whole-manifest checks that no single row can make: duplicate image paths, and with
// kMustExist that every image and mask file exists. Reports the first problem, naming
// the record's index (0-based) as "record N" and its path.
Status validate_manifest(const Manifest& manifest, FileCheck files = FileCheck::kSkip);

}  // namespace radflow::ml::data
