#include "orchestrator/cli/commands.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "orchestrator/cli/api_client.h"
#include "orchestrator/cli/cli_util.h"
#include "orchestrator/cli/format.h"

namespace radflow::cli {
namespace {

bool is_terminal_status(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "cancelled";
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::error("io_error", "cannot read " + path + ": no such file or not readable");
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

// Polls the run until it ends, redrawing one progress line on a terminal (a line
// per change otherwise, so CI logs stay readable).
int wait_for_run(ApiClient& client, int64_t run_id) {
  const bool tty = isatty(STDOUT_FILENO);
  std::string last;
  while (true) {
    auto run = client.get("/api/v1/runs/" + std::to_string(run_id));
    if (!run.ok()) {
      if (tty) std::printf("\n");
      return report(run.status());
    }
    std::string line = progress_line(*run);
    if (tty) {
      std::printf("\r\033[K%s", line.c_str());
      std::fflush(stdout);
    } else if (line.substr(0, line.rfind("  (")) != last.substr(0, last.rfind("  ("))) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    }
    last = line;
    const std::string status = run->value("status", "");
    if (is_terminal_status(status)) {
      if (tty) std::printf("\n");
      std::fputs(steps_table(*run).c_str(), stdout);
      std::printf("run %lld %s in %s\n", static_cast<long long>(run_id), status.c_str(),
                  duration((*run)["started_ms"], (*run)["finished_ms"]).c_str());
      return status == "succeeded" ? kOk : kFailed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

std::string usage() {
  return R"(radflow: submit and watch radflow workflows.

usage: radflow [--server URL] [--cacert FILE] COMMAND [ARGS]

commands:
  submit FILE [--wait]   submit a workflow; --wait shows live progress until it ends
  validate FILE          check a workflow without running it
  runs [--status S] [--limit N] [--offset N]
                         list runs, newest first
  show RUN               a run's steps, attempts and their reasons
  logs RUN STEP [-f]     a step's logs; -f follows them until the step ends
  cancel RUN             stop a run's running steps and skip the rest
  retry RUN              run a finished run's failed steps again
  rerun RUN STEP         run one step again, and every step downstream of it
  delete RUN             delete a finished run (rows and attempt folders)
  reproduce RUN [--wait] [--allow-different-plugins]
                         run a run again exactly (no cache) from its manifest;
                         --wait then diffs every metric and output digest
  report RUN [RUN ...] [--out FILE] [--json]
                         the encoder report card (tables, forest plots, paired
                         differences, provenance) as one self-contained HTML file
  gc [--dry-run] [--logs-older-than-days N] [--attempt-dirs-older-than-days N]
                         free stored artifacts no run references; prune old logs
                         and attempt folders
  audit [--limit N] [--before ID]
                         who submitted, cancelled, deleted, ran gc, managed tokens
  plugins                the plugins the server can run
  image info FILE        a DICOM/PNG/JPEG file's modality, size, bits, photometric
                         interpretation, transfer syntax, rescale and window (local)
  image convert FILE OUT.png|OUT.npy
                         windowed 16-bit PNG, or float32 values after the modality LUT
  embed --encoder CKPT --images DIR|MANIFEST --out FILE.npy [--pool cls|cls+mean]
                         frozen-encoder embeddings of images as .npy (local; torch builds)

The server is --server URL, else $RADFLOW_SERVER, else http://127.0.0.1:8080.
Authentication (when the server has tokens, SECURITY.md): the token is $RADFLOW_TOKEN,
else the first line of ~/.config/radflow/token (chmod 600). For an https:// server,
--cacert FILE (or $RADFLOW_CACERT) names the CA that signed its certificate; the
certificate is always verified.
Exit codes: 0 ok, 1 failed, 2 usage error, 3 server unreachable.
`radflow COMMAND --help` describes one command.
)";
}

int submit(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts("usage: radflow submit FILE [--wait]\n\nSubmits the workflow JSON in FILE. "
              "Validation errors are printed with their JSON path.\n--wait follows the run "
              "with a progress line and exits 0 only if it succeeded.");
    return kOk;
  }
  std::string file;
  bool wait = false;
  for (const auto& a : args) {
    if (a == "--wait") {
      wait = true;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option " + a, "submit");
    } else if (file.empty()) {
      file = a;
    } else {
      return usage_error("submit takes one FILE", "submit");
    }
  }
  if (file.empty()) return usage_error("submit needs a workflow FILE", "submit");
  auto text = read_file(file);
  if (!text.ok()) return report(text.status());
  ApiClient client(server);
  auto reply = client.post_raw("/api/v1/runs", *text);
  if (!reply.ok()) return report(reply.status());
  if (reply->http_status != 201) {
    const auto& errors = reply->body.value("errors", nlohmann::json::array());
    for (const auto& e : errors) {
      std::fprintf(stderr, "%s: %s: %s [%s]\n", file.c_str(),
                   e.value("path", "").empty() ? "/" : e.value("path", "").c_str(),
                   e.value("message", "").c_str(), e.value("code", "").c_str());
    }
    if (errors.empty()) std::fprintf(stderr, "%s: rejected: %s\n", file.c_str(), reply->body.dump().c_str());
    return kFailed;
  }
  const int64_t run_id = reply->body.value("id", int64_t{0});
  std::printf("run %lld submitted: %s/api/v1/runs/%lld\n", static_cast<long long>(run_id),
              server.c_str(), static_cast<long long>(run_id));
  std::fflush(stdout);
  return wait ? wait_for_run(client, run_id) : kOk;
}

int validate(const std::string& server, const Args& args) {
  if (wants_help(args) || args.size() != 1) {
    if (!wants_help(args)) return usage_error("validate needs one workflow FILE", "validate");
    std::puts("usage: radflow validate FILE\n\nChecks the workflow against the server's "
              "plugins and resources without running it.");
    return kOk;
  }
  auto text = read_file(args[0]);
  if (!text.ok()) return report(text.status());
  ApiClient client(server);
  auto reply = client.post_raw("/api/v1/validate", *text);
  if (!reply.ok()) return report(reply.status());
  if (reply->http_status != 200) {
    for (const auto& e : reply->body.value("errors", nlohmann::json::array())) {
      std::fprintf(stderr, "%s: %s: %s [%s]\n", args[0].c_str(),
                   e.value("path", "").empty() ? "/" : e.value("path", "").c_str(),
                   e.value("message", "").c_str(), e.value("code", "").c_str());
    }
    return kFailed;
  }
  std::string order;
  for (const auto& s : reply->body["steps"]) order += (order.empty() ? "" : " -> ") + s.get<std::string>();
  std::printf("%s: valid (%s)\n", args[0].c_str(), order.c_str());
  return kOk;
}

}  // namespace radflow::cli
