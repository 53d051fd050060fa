// The CLI commands that read state: runs, show, logs, plugins; and cancel.
// `plugins check|new|reload` are in plugin_check.cpp and plugin_new.cpp.
#include <cstdio>

#include "orchestrator/cli/api_client.h"
#include "orchestrator/cli/cli_util.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/format.h"
#include "orchestrator/cli/plugin_commands.h"

namespace radflow::cli {
namespace {

std::string log_line(const nlohmann::json& log) {
  std::string level = log.value("level", "info");
  std::string stream = log.value("stream", "");
  return time_of_day(log.value("ts_ms", int64_t{0})) + " " + level +
         (stream == "plugin" ? "" : " [" + stream + "]") + " " + log.value("message", "");
}

}  // namespace

int runs(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts("usage: radflow runs [--status queued|running|succeeded|failed|cancelled] "
              "[--limit N] [--offset N]\n\nLists runs, newest first.");
    return kOk;
  }
  std::string query;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "--status" || a == "--limit" || a == "--offset") && i + 1 < args.size()) {
      query += (query.empty() ? "?" : "&") + a.substr(2) + "=" + args[++i];
    } else {
      return usage_error("unknown argument " + a, "runs");
    }
  }
  ApiClient client(server);
  auto reply = client.get("/api/v1/runs" + query);
  if (!reply.ok()) return report(reply.status());
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATUS", "NAME", "CREATED", "DURATION", "BY", "TAGS"}};
  for (const auto& run : (*reply)["runs"]) {
    std::string tags;
    for (const auto& tag : run.value("tags", nlohmann::json::array())) {
      if (tag.is_string()) tags += (tags.empty() ? "" : ",") + tag.get<std::string>();
    }
    const std::string who = run.value("submitted_by", "");
    rows.push_back({std::to_string(run.value("id", 0)), run.value("status", ""),
                    run.value("name", ""), time_of_day(run.value("created_ms", int64_t{0})),
                    duration(run["started_ms"], run["finished_ms"]), who.empty() ? "-" : who,
                    tags.empty() ? "-" : tags});
  }
  std::fputs(table(rows).c_str(), stdout);
  std::printf("%zu of %lld run(s)\n", (*reply)["runs"].size(),
              static_cast<long long>(reply->value("total", int64_t{0})));
  return kOk;
}

int show(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts("usage: radflow show RUN\n\nA run's status and, per step, its status, attempts, "
              "time, and why it failed or is waiting.");
    return kOk;
  }
  if (args.size() != 1 || !is_run_id(args[0])) return usage_error("show needs one RUN id", "show");
  ApiClient client(server);
  auto run = client.get("/api/v1/runs/" + args[0]);
  if (!run.ok()) return report(run.status());
  std::printf("run %s  %s  %s  (%s)\n", args[0].c_str(), run->value("name", "").c_str(),
              run->value("status", "").c_str(),
              duration((*run)["started_ms"], (*run)["finished_ms"]).c_str());
  if (!run->value("message", "").empty()) std::printf("%s\n", run->value("message", "").c_str());
  std::fputs(steps_table(*run).c_str(), stdout);
  return kOk;
}

int logs(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts("usage: radflow logs RUN STEP [-f]\n\nPrints a step's logs (every attempt). "
              "-f keeps following until the step ends.");
    return kOk;
  }
  bool follow = false;
  std::vector<std::string> positional;
  for (const auto& a : args) {
    if (a == "-f" || a == "--follow") {
      follow = true;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option " + a, "logs");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2 || !is_run_id(positional[0])) {
    return usage_error("logs needs RUN and STEP", "logs");
  }
  ApiClient client(server);
  const std::string path = "/api/v1/runs/" + positional[0] + "/steps/" + positional[1] + "/logs";
  if (follow) {
    std::string pending;
    Status streamed = client.stream(path + "?follow=1", [&](const std::string& chunk) {
      pending += chunk;
      size_t newline;
      while ((newline = pending.find('\n')) != std::string::npos) {
        auto log = nlohmann::json::parse(pending.substr(0, newline), nullptr, false);
        pending.erase(0, newline + 1);
        if (log.is_object()) std::printf("%s\n", log_line(log).c_str());
      }
      std::fflush(stdout);
      return true;
    });
    return streamed.ok() ? kOk : report(streamed);
  }
  int64_t after = 0;
  while (true) {
    auto page = client.get(path + "?after=" + std::to_string(after));
    if (!page.ok()) return report(page.status());
    for (const auto& log : (*page)["logs"]) std::printf("%s\n", log_line(log).c_str());
    if ((*page)["logs"].empty()) break;
    after = page->value("next_after", after);
  }
  return kOk;
}

int cancel(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts("usage: radflow cancel RUN\n\nStops the run's running attempts (SIGTERM, then "
              "SIGKILL after the grace period) and cancels its queued steps.");
    return kOk;
  }
  if (args.size() != 1 || !is_run_id(args[0])) return usage_error("cancel needs one RUN id", "cancel");
  ApiClient client(server);
  auto reply = client.post("/api/v1/runs/" + args[0] + "/cancel", "");
  if (!reply.ok()) return report(reply.status());
  std::printf("run %s: cancel requested (status %s)\n", args[0].c_str(),
              reply->value("status", "").c_str());
  return kOk;
}

int retry(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts("usage: radflow retry RUN\n\nRuns a finished run's failed and cancelled steps "
              "again; steps that succeeded keep their outputs.");
    return kOk;
  }
  if (args.size() != 1 || !is_run_id(args[0])) return usage_error("retry needs one RUN id", "retry");
  ApiClient client(server);
  auto reply = client.post("/api/v1/runs/" + args[0] + "/retry", "");
  if (!reply.ok()) return report(reply.status());
  std::printf("run %s: retrying its failed steps (watch with: radflow show %s)\n", args[0].c_str(),
              args[0].c_str());
  return kOk;
}

int rerun(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts("usage: radflow rerun RUN STEP\n\nRuns STEP of a finished run again (never from "
              "the step cache) and every step downstream of it.");
    return kOk;
  }
  if (args.size() != 2 || !is_run_id(args[0])) return usage_error("rerun needs RUN and STEP", "rerun");
  ApiClient client(server);
  auto reply = client.post("/api/v1/runs/" + args[0] + "/steps/" + args[1] + "/rerun", "");
  if (!reply.ok()) return report(reply.status());
  std::printf("run %s: re-running %s and what follows it (watch with: radflow show %s)\n",
              args[0].c_str(), args[1].c_str(), args[0].c_str());
  return kOk;
}

int plugins(const std::string& server, const Args& args) {
  if (!args.empty()) {
    const Args rest(args.begin() + 1, args.end());
    if (args[0] == "check") return plugins_check(rest);
    if (args[0] == "new") return plugins_new(rest);
    if (args[0] == "reload") return plugins_reload(server, rest);
  }
  if (wants_help(args)) {
    std::puts("usage: radflow plugins\n"
              "       radflow plugins check FILE.so\n"
              "       radflow plugins new NAME [--kind evaluation|data|trainer] [--dir DIR]\n"
              "       radflow plugins reload\n\n"
              "The server's plugins with their inputs and outputs, and any library that could "
              "not be loaded.\n"
              "check: what radflow-worker's loader says about one file (no server needed).\n"
              "new: writes a ready-to-build plugin project using find_package(radflow).\n"
              "reload: makes the server rescan its plugin folder now (admin).\n"
              "Each subcommand takes --help.");
    return kOk;
  }
  if (!args.empty()) return usage_error("plugins takes no arguments", "plugins");
  ApiClient client(server);
  auto reply = client.get("/api/v1/plugins");
  if (!reply.ok()) return report(reply.status());
  std::vector<std::vector<std::string>> rows = {{"PLUGIN", "VERSION", "INPUTS", "OUTPUTS", "DESCRIPTION"}};
  auto names = [](const nlohmann::json& ports) {
    std::string out;
    for (const auto& p : ports) out += (out.empty() ? "" : ",") + p.value("name", "");
    return out.empty() ? "-" : out;
  };
  for (const auto& p : (*reply)["plugins"]) {
    rows.push_back({p.value("name", ""), p.value("version", ""), names(p["inputs"]),
                    names(p["outputs"]), p.value("description", "")});
  }
  std::fputs(table(rows).c_str(), stdout);
  for (const auto& b : (*reply)["broken"]) {
    std::printf("cannot load %s: %s [%s]\n", b.value("path", "").c_str(),
                b.value("message", "").c_str(), b.value("code", "").c_str());
  }
  return kOk;
}

}  // namespace radflow::cli
