// The radflow CLI's commands. Each takes its own arguments (after the command
// name), prints to stdout, reports problems as one line on stderr, and returns the
// process exit code: 0 ok, 1 failed (a run failed, or the server said no),
// 2 usage error, 3 server unreachable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace radflow {
class ApiClient;
}

namespace radflow::cli {

using Args = std::vector<std::string>;

// Follows run `run_id` with a progress line until it ends, then prints its steps;
// 0 only if it succeeded (submit --wait, reproduce --wait).
int wait_for_run(ApiClient& client, int64_t run_id);

int submit(const std::string& server, const Args& args);
int validate(const std::string& server, const Args& args);
int runs(const std::string& server, const Args& args);
int show(const std::string& server, const Args& args);
int logs(const std::string& server, const Args& args);
int cancel(const std::string& server, const Args& args);
int retry(const std::string& server, const Args& args);
int rerun(const std::string& server, const Args& args);
int plugins(const std::string& server, const Args& args);
// `radflow delete RUN` and `radflow gc [--dry-run] [--logs-older-than-days N]`.
int delete_run(const std::string& server, const Args& args);
int gc(const std::string& server, const Args& args);
// `radflow audit [--limit N] [--before ID] [--json]`: the audit log (admin).
int audit(const std::string& server, const Args& args);
// `radflow reproduce RUN [--wait] [--allow-different-plugins]` (reproduce_command.cpp).
int reproduce(const std::string& server, const Args& args);
// `radflow report RUN [RUN ...] [--out FILE] [--json]`: the report card (report_command.cpp).
int report(const std::string& server, const Args& args);
// `radflow image info|convert`: runs locally through radflow-worker, no server needed.
int image(const std::string& server, const Args& args);
// `radflow embed`: encoder embeddings of images as .npy, locally through radflow-worker.
int embed(const std::string& server, const Args& args);

std::string usage();

}  // namespace radflow::cli
