// Exact replay (docs/api.md, "Run manifests"): GET /api/v1/runs/{id}/manifest serves
// what a run recorded when it was accepted (run_manifest.h) with what it then read,
// wrote and measured; POST /api/v1/runs/{id}/reproduce submits the recorded workflow
// again with the step cache off, or refuses (409) with every difference that would
// keep the replay from being exact.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "common/sha256.h"
#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"
#include "orchestrator/api/json_views.h"
#include "orchestrator/api/run_manifest.h"

namespace radflow {
namespace {

using http::path_id;
using http::reply_errors;
using http::reply_json;
using http::reply_status;
using nlohmann::json;

// name -> {value, iteration, points, series_sha256} of the latest attempt's points:
// the last value, and a digest of the whole curve so that a replay can be compared
// point for point without sending every point.
Result<json> final_metrics(storage::Store& store, int64_t step_id) {
  RF_ASSIGN_OR_RETURN(auto points,
                      store.metric_series(step_id, storage::AttemptSelector::latest(), 0));
  json out = json::object();
  std::string series;
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    char line[64];
    std::snprintf(line, sizeof line, "%lld %.17g\n", static_cast<long long>(p.iteration), p.value);
    series += line;
    if (i + 1 == points.size() || points[i + 1].name != p.name) {
      out[p.name] = {{"value", p.value},  // NaN becomes null
                     {"iteration", p.iteration},
                     {"points", std::count(series.begin(), series.end(), '\n')},
                     {"series_sha256", sha256_hex(series)}};
      series.clear();
    }
  }
  return out;
}

// Per step: its status, where a cached step's results come from, the digests its
// latest attempt read and the outputs it has, and its final metrics.
Result<json> execution_of(storage::Store& store, int64_t run_id) {
  RF_ASSIGN_OR_RETURN(auto run, store.get_run(run_id));
  RF_ASSIGN_OR_RETURN(auto steps, store.steps_of_run(run_id));
  json list = json::array();
  for (const auto& step : steps) {
    const int64_t source = step.cached_from_step ? step.cached_from_step : step.id;
    json inputs = json::object();
    RF_ASSIGN_OR_RETURN(auto attempts, store.attempts_of_step(source));
    json attempt = nullptr;
    if (!attempts.empty()) {
      const auto& last = attempts.back();
      attempt = {{"number", last.number}, {"status", last.status}, {"devices", last.devices}};
      RF_ASSIGN_OR_RETURN(auto read, store.inputs_of_attempt(last.id));
      for (const auto& in : read) inputs[in.input_name] = in.artifact.digest;
    }
    json outputs = json::object();
    RF_ASSIGN_OR_RETURN(auto written, store.outputs_of_step(step.id));
    for (const auto& out : written) {
      outputs[out.output_name] = {
          {"digest", out.digest}, {"kind", out.kind}, {"size_bytes", out.size_bytes}};
    }
    RF_ASSIGN_OR_RETURN(json metrics, final_metrics(store, source));
    json cached_from = nullptr;
    if (step.cached_from_step) {
      auto from = store.get_step(step.cached_from_step);
      if (from.ok()) cached_from = {{"run_id", from->run_id}, {"step", from->name}};
    }
    list.push_back({{"name", step.name},
                    {"status", step.status},
                    {"cached_from", cached_from},
                    {"attempt", attempt},
                    {"inputs", inputs},
                    {"outputs", outputs},
                    {"metrics", metrics}});
  }
  return json{{"status", run.status}, {"steps", std::move(list)}};
}

}  // namespace

json ApiServer::manifest_for(const Workflow& workflow, const std::string& text,
                             const json& replay_of) {
  const std::string& path = ctx_.scheduler->worker_path();
  auto worker = worker_build(path);
  if (!worker.ok()) spdlog::warn("run manifest without the worker's sha256: {}", worker.status().message());
  json manifest = build_run_manifest(workflow, text, worker.ok() ? *worker : WorkerBuild{path, ""},
                                     numerics_environment(), replay_of);
  if (!worker.ok()) manifest["worker"]["sha256"] = nullptr;
  return manifest;
}

void ApiServer::add_manifest_routes() {
  server_->Get(R"(/api/v1/runs/([^/]+)/manifest)", [this](const httplib::Request& req,
                                                           httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    auto text = ctx_.store->get_run_manifest(*run_id);
    if (!text.ok()) return reply_status(res, text.status());
    json manifest = json::parse(*text, nullptr, false);
    auto execution = execution_of(*ctx_.store, *run_id);
    if (!execution.ok()) return reply_status(res, execution.status());
    manifest["run_id"] = *run_id;
    manifest["execution"] = std::move(*execution);
    reply_json(res, 200, manifest);
  });

  // ?allow_different_plugins=1 submits despite differences and records them in the
  // new run's manifest (replay_of.differences), where the CLI's diff marks them.
  server_->Post(R"(/api/v1/runs/([^/]+)/reproduce)", [this](const httplib::Request& req,
                                                             httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    const std::string allow = req.get_param_value("allow_different_plugins");
    const bool allowed = allow == "1" || allow == "true";
    auto text = ctx_.store->get_run_manifest(*run_id);
    if (!text.ok()) return reply_status(res, text.status());
    const json recorded = json::parse(*text, nullptr, false);
    if (!recorded.is_object() || !recorded.contains("workflow_text") ||
        !recorded["workflow_text"].is_string()) {
      return reply_errors(res, 409, {{"manifest_unreadable",
                                      "run " + std::to_string(*run_id) +
                                          "'s manifest holds no workflow text; it cannot be replayed",
                                      "/workflow_text"}});
    }
    const std::string workflow_text = recorded["workflow_text"];
    ValidationResult result = validate_workflow(workflow_text);
    if (!result.ok()) {
      for (auto& e : result.errors) e.message = "the recorded workflow no longer validates: " + e.message;
      return reply_errors(res, 409, result.errors);
    }
    json current = manifest_for(*result.workflow, workflow_text);
    std::vector<Error> differences = replay_differences(recorded, current);
    auto execution = execution_of(*ctx_.store, *run_id);
    if (!execution.ok()) return reply_status(res, execution.status());
    for (const auto& step : (*execution)["steps"]) {
      for (const auto& [input, digest] : step["inputs"].items()) {
        if (ctx_.artifacts->contains(digest.get<std::string>())) continue;
        const std::string name = step["name"];
        differences.push_back({"input_missing",
                               "step " + name + ": recorded input " + input + " (sha256 " +
                                   digest.get<std::string>() + ") is no longer in the artifact store",
                               "/steps/" + name + "/inputs/" + input});
      }
    }
    if (!differences.empty() && !allowed) return reply_errors(res, 409, differences);
    Workflow replay = *result.workflow;
    for (auto& step : replay.steps) step.cache = false;  // every step runs again
    current["replay_of"] = {
        {"run_id", *run_id}, {"differences", error_list_json(differences)}, {"allowed", allowed}};
    const auth::Caller caller = caller_of(req);
    auto new_id = ctx_.scheduler->submit(replay, workflow_text, caller.name, current.dump());
    if (!new_id.ok()) return reply_status(res, new_id.status());
    audit(caller, "reproduce", "run " + std::to_string(*new_id),
          {{"of", *run_id}, {"differences", differences.size()}});
    spdlog::info("run {} accepted: replay of run {} ({} differences allowed)", *new_id, *run_id,
                 differences.size());
    res.set_header("Location", "/api/v1/runs/" + std::to_string(*new_id));
    reply_json(res, 201, {{"id", *new_id},
                          {"status", "queued"},
                          {"reproduces", *run_id},
                          {"differences", current["replay_of"]["differences"]}});
  });
}

}  // namespace radflow
