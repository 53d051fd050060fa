// `radflow reproduce RUN [--wait] [--allow-different-plugins]`: asks the server to
// run RUN again from its manifest with the step cache off (POST
// /api/v1/runs/{id}/reproduce). A refusal lists every difference (plugin with both
// digests, missing input artifact, worker build, numerics knobs). With --wait it
// follows the replay and then compares the two runs' manifests: every metric (last
// value and a digest of its whole curve) and every output digest, step by step.
#include <cstdio>
#include <set>
#include <string>

#include "orchestrator/cli/api_client.h"
#include "orchestrator/cli/cli_util.h"
#include "orchestrator/cli/commands.h"

namespace radflow::cli {
namespace {

using nlohmann::json;

constexpr const char* kReproduceHelp =
    "usage: radflow reproduce RUN [--wait] [--allow-different-plugins]\n\n"
    "Runs RUN again exactly as recorded in its manifest (GET /api/v1/runs/RUN/manifest):\n"
    "the workflow as submitted, every step anew (no step cache). It is refused, with\n"
    "every difference listed, when a plugin library or the worker has other bytes than\n"
    "recorded (both sha256s), a step's params resolve differently, a numerics variable\n"
    "(OMP_*, MKL_*, ...) or a step's threads/device/precision changed, or a recorded\n"
    "input artifact is gone.\n"
    "  --allow-different-plugins  run anyway; the differences are recorded in the new\n"
    "                             run's manifest and marked in the diff\n"
    "  --wait                     follow the replay, then print every metric and output\n"
    "                             digest of both runs; exit 0 only when the replay\n"
    "                             succeeded and all are equal (timings: metrics ending\n"
    "                             in per_second, _seconds or _ms, are shown, not compared)";

const json& steps_of(const json& manifest) {
  static const json kNone = json::array();
  const auto it = manifest.find("execution");
  return it != manifest.end() && it->contains("steps") ? (*it)["steps"] : kNone;
}

const json* step_named(const json& manifest, const std::string& name) {
  for (const auto& s : steps_of(manifest)) {
    if (s.value("name", "") == name) return &s;
  }
  return nullptr;
}

std::string number(const json& value) {
  if (!value.is_number()) return value.is_null() ? "NaN" : value.dump();
  char text[40];
  std::snprintf(text, sizeof text, "%.10g", value.get<double>());
  return text;
}

std::string short_digest(const json& digest) {
  const std::string d = digest.is_string() ? digest.get<std::string>() : "-";
  return d.size() > 16 ? d.substr(0, 16) : d;
}

// Throughput and durations measure the machine, not the result: shown, not compared.
bool is_timing(const std::string& metric) {
  for (const char* suffix : {"per_second", "_seconds", "_ms"}) {
    const std::string s = suffix;
    if (metric.size() >= s.size() && metric.compare(metric.size() - s.size(), s.size(), s) == 0) {
      return true;
    }
  }
  return false;
}

// Prints one line per metric and output of every step; returns how many differ.
int print_diff(const json& original, const json& replay, int64_t original_id, int64_t replay_id) {
  std::printf("%-24s %-32s %-18s %-18s %s\n", "step", "metric / output",
              ("run " + std::to_string(original_id)).c_str(),
              ("run " + std::to_string(replay_id)).c_str(), "");
  int differing = 0, compared = 0;
  for (const auto& was : steps_of(original)) {
    const std::string name = was.value("name", "");
    const json* now = step_named(replay, name);
    const json none = json::object();
    const json& now_metrics = now ? (*now)["metrics"] : none;
    const json& now_outputs = now ? (*now)["outputs"] : none;
    std::set<std::string> metrics, outputs;
    for (const auto& [k, v] : was["metrics"].items()) metrics.insert(k);
    for (const auto& [k, v] : now_metrics.items()) metrics.insert(k);
    for (const auto& [k, v] : was["outputs"].items()) outputs.insert(k);
    for (const auto& [k, v] : now_outputs.items()) outputs.insert(k);
    for (const auto& m : metrics) {
      const json a = was["metrics"].value(m, json());
      const json b = now_metrics.value(m, json());
      const bool equal = !a.is_null() && !b.is_null() && a["series_sha256"] == b["series_sha256"];
      const bool timing = is_timing(m);
      compared += !timing;
      differing += !timing && !equal;
      std::printf("%-24s %-32s %-18s %-18s %s\n", name.c_str(), m.c_str(),
                  a.is_null() ? "-" : number(a["value"]).c_str(),
                  b.is_null() ? "-" : number(b["value"]).c_str(),
                  timing ? "timing, not compared" : equal ? "equal" : "DIFFERENT (curve)");
    }
    for (const auto& o : outputs) {
      const json a = was["outputs"].value(o, json());
      const json b = now_outputs.value(o, json());
      const bool equal = !a.is_null() && !b.is_null() && a["digest"] == b["digest"];
      ++compared;
      differing += !equal;
      std::printf("%-24s %-32s %-18s %-18s %s\n", name.c_str(), ("output " + o).c_str(),
                  a.is_null() ? "-" : short_digest(a["digest"]).c_str(),
                  b.is_null() ? "-" : short_digest(b["digest"]).c_str(),
                  equal ? "equal" : "DIFFERENT");
    }
  }
  if (differing == 0) {
    std::printf("replay of run %lld is bit-exact: %d metrics and outputs equal\n",
                static_cast<long long>(original_id), compared);
  } else {
    std::printf("replay of run %lld differs: %d of %d metrics and outputs\n",
                static_cast<long long>(original_id), differing, compared);
  }
  return differing;
}

}  // namespace

int reproduce(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts(kReproduceHelp);
    return kOk;
  }
  std::string run;
  bool wait = false, allow = false;
  for (const auto& a : args) {
    if (a == "--wait") {
      wait = true;
    } else if (a == "--allow-different-plugins") {
      allow = true;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option " + a, "reproduce");
    } else if (run.empty()) {
      run = a;
    } else {
      return usage_error("reproduce takes one RUN", "reproduce");
    }
  }
  if (run.empty()) return usage_error("reproduce needs a RUN id", "reproduce");
  ApiClient client(server);
  auto reply = client.post_raw("/api/v1/runs/" + run + "/reproduce" +
                                   (allow ? "?allow_different_plugins=1" : ""),
                               "");
  if (!reply.ok()) return report(reply.status());
  if (reply->http_status != 201) {
    const json errors = reply->body.value("errors", json::array());
    std::fprintf(stderr, "radflow: run %s cannot be replayed exactly:\n", run.c_str());
    for (const auto& e : errors) {
      std::fprintf(stderr, "  %s [%s]\n", e.value("message", "").c_str(), e.value("code", "").c_str());
    }
    if (errors.empty()) std::fprintf(stderr, "  %s\n", reply->body.dump().c_str());
    std::fprintf(stderr, "(--allow-different-plugins runs it anyway and marks the diff)\n");
    return kFailed;
  }
  const int64_t replay_id = reply->body.value("id", int64_t{0});
  std::printf("run %lld submitted: replay of run %s\n", static_cast<long long>(replay_id),
              run.c_str());
  const json differences = reply->body.value("differences", json::array());
  for (const auto& d : differences) {
    std::printf("  differs (allowed): %s [%s]\n", d.value("message", "").c_str(),
                d.value("code", "").c_str());
  }
  std::fflush(stdout);
  if (!wait) return kOk;
  const int finished = wait_for_run(client, replay_id);
  auto original = client.get("/api/v1/runs/" + run + "/manifest");
  if (!original.ok()) return report(original.status());
  auto replayed = client.get("/api/v1/runs/" + std::to_string(replay_id) + "/manifest");
  if (!replayed.ok()) return report(replayed.status());
  const int differing = print_diff(*original, *replayed, std::stoll(run), replay_id);
  if (!differences.empty()) {
    std::printf("marked: the replay ran with %zu recorded difference(s) (see above)\n",
                differences.size());
  }
  return finished == kOk && differing == 0 ? kOk : kFailed;
}

}  // namespace radflow::cli
