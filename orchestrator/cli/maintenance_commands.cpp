// radflow delete and radflow gc: removing what is no longer wanted.
#include <cstdio>
#include <string>

#include "orchestrator/cli/api_client.h"
#include "orchestrator/cli/cli_util.h"
#include "orchestrator/cli/commands.h"

namespace radflow::cli {
namespace {

bool is_count(const std::string& text) {
  return !text.empty() && text.size() < 7 &&
         text.find_first_not_of("0123456789") == std::string::npos;
}

std::string megabytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

}  // namespace

int delete_run(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts("usage: radflow delete RUN\n\nDeletes a finished run: its steps, attempts, logs, "
              "metrics and attempt folders.\nA queued or running run is refused (cancel it "
              "first). Outputs another run still uses\nare kept; `radflow gc` frees stored "
              "artifacts nothing references any more.");
    return kOk;
  }
  if (args.size() != 1 || !is_count(args[0])) return usage_error("delete needs one RUN id", "delete");
  ApiClient client(server);
  auto reply = client.del("/api/v1/runs/" + args[0]);
  if (!reply.ok()) return report(reply.status());
  std::printf("run %s deleted: %lld step(s), %lld attempt(s), %lld log line(s); %lld artifact "
              "row(s) kept for other runs (free space with: radflow gc)\n",
              args[0].c_str(), static_cast<long long>(reply->value("steps", 0)),
              static_cast<long long>(reply->value("attempts", 0)),
              static_cast<long long>(reply->value("logs", 0)),
              static_cast<long long>(reply->value("artifacts_kept", 0)));
  return kOk;
}

int gc(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts("usage: radflow gc [--dry-run] [--logs-older-than-days N]\n"
              "                 [--attempt-dirs-older-than-days N]\n\nRemoves stored "
              "artifacts that no run references (after `radflow delete`); with\n"
              "--logs-older-than-days the log lines of finished runs older than N days; with\n"
              "--attempt-dirs-older-than-days the attempt folders (scratch files, resume\n"
              "checkpoints) of runs that finished more than N days ago.\n"
              "--dry-run only reports what would be freed. Artifacts younger than ten minutes\n"
              "are kept, so a step finishing meanwhile never loses its outputs.");
    return kOk;
  }
  bool dry_run = false;
  std::string days, dir_days;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--dry-run") {
      dry_run = true;
    } else if (args[i] == "--logs-older-than-days" && i + 1 < args.size() &&
               is_count(args[i + 1])) {
      days = args[++i];
    } else if (args[i] == "--attempt-dirs-older-than-days" && i + 1 < args.size() &&
               is_count(args[i + 1])) {
      dir_days = args[++i];
    } else {
      return usage_error("unexpected argument " + args[i], "gc");
    }
  }
  std::string path = "/api/v1/gc?dry_run=" + std::string(dry_run ? "1" : "0");
  if (!days.empty()) path += "&logs_older_than_days=" + days;
  if (!dir_days.empty()) path += "&attempt_dirs_older_than_days=" + dir_days;
  ApiClient client(server);
  auto reply = client.post(path, "");
  if (!reply.ok()) return report(reply.status());
  const int64_t bytes = reply->value("bytes", int64_t{0});
  std::printf("%s %lld unreferenced artifact(s), %lld file(s), %s%s\n",
              dry_run ? "would free" : "freed",
              static_cast<long long>(reply->value("artifacts", int64_t{0})),
              static_cast<long long>(reply->value("files", int64_t{0})), megabytes(bytes).c_str(),
              dry_run ? " (dry run: nothing removed)" : "");
  if (!days.empty() && !dry_run) {
    std::printf("deleted %lld log line(s) older than %s day(s)\n",
                static_cast<long long>(reply->value("logs_deleted", int64_t{0})), days.c_str());
  }
  if (!dir_days.empty()) {
    std::printf("%s the attempt folders of %lld run(s) finished over %s day(s) ago\n",
                dry_run ? "would remove" : "removed",
                static_cast<long long>(reply->value("attempt_dirs_removed", int64_t{0})),
                dir_days.c_str());
  }
  return kOk;
}

}  // namespace radflow::cli
