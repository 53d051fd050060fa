// /api/v1/runs: list, detail (steps, attempts, why queued steps wait), cancel.
#include <httplib.h>

#include "common/lifecycle.h"
#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"
#include "orchestrator/api/json_views.h"

namespace radflow {

using http::path_id;
using http::query_int;
using http::reply_errors;
using http::reply_json;
using http::reply_status;

void ApiServer::add_run_routes() {
  server_->Get("/api/v1/runs", [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> status;
    if (req.has_param("status")) {
      status = req.get_param_value("status");
      if (!run_status_from(*status)) {
        return reply_errors(res, 400,
                            {{"bad_request",
                              "status must be one of queued, running, succeeded, failed, "
                              "cancelled; got \"" + *status + "\"",
                              "?status"}});
      }
    }
    auto limit = query_int(req, res, "limit", 50, 1000);
    if (!limit) return;
    auto offset = query_int(req, res, "offset", 0, INT32_MAX);
    if (!offset) return;
    auto runs = ctx_.store->list_runs(status, static_cast<int>(*limit), static_cast<int>(*offset));
    if (!runs.ok()) return reply_status(res, runs.status());
    auto total = ctx_.store->count_runs(status);
    if (!total.ok()) return reply_status(res, total.status());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& run : *runs) list.push_back(run_summary_json(run));
    reply_json(res, 200, {{"runs", std::move(list)}, {"total", *total}, {"limit", *limit}, {"offset", *offset}});
  });

  server_->Get(R"(/api/v1/runs/([^/]+))", [this](const httplib::Request& req,
                                                  httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    auto run = ctx_.store->get_run(*run_id);
    if (!run.ok()) return reply_status(res, run.status());
    auto steps = ctx_.store->steps_of_run(*run_id);
    if (!steps.ok()) return reply_status(res, steps.status());
    auto attempts = ctx_.store->attempts_of_run(*run_id);
    if (!attempts.ok()) return reply_status(res, attempts.status());
    auto waiting = ctx_.scheduler->waiting_reasons(*run_id);
    nlohmann::json body = run_summary_json(*run);
    body["params"] = nlohmann::json::parse(run->params_json, nullptr, false);
    body["workflow"] = nlohmann::json::parse(run->workflow_json, nullptr, false);
    nlohmann::json step_list = nlohmann::json::array();
    for (const auto& step : *steps) {
      nlohmann::json s = step_json(step);
      s["attempts"] = nlohmann::json::array();
      for (const auto& attempt : (*attempts)[step.id]) s["attempts"].push_back(attempt_json(attempt));
      // Where a cached step's outputs, metrics and logs really come from.
      if (step.cached_from_step) {
        auto source = ctx_.store->get_step(step.cached_from_step);
        if (source.ok()) s["cached_from"] = {{"run_id", source->run_id}, {"step", source->name}};
      }
      auto why = waiting.find(step.name);
      s["waiting"] = why == waiting.end() ? nlohmann::json() : nlohmann::json(why->second);
      step_list.push_back(std::move(s));
    }
    body["steps"] = std::move(step_list);
    reply_json(res, 200, body);
  });

  server_->Delete(R"(/api/v1/runs/([^/]+))", [this](const httplib::Request& req,
                                                     httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    auto report = ctx_.scheduler->delete_run(*run_id);
    if (!report.ok()) return reply_status(res, report.status());
    audit(caller_of(req), "delete", "run " + std::to_string(*run_id));
    reply_json(res, 200, {{"id", *run_id},
                          {"deleted", true},
                          {"steps", report->steps},
                          {"attempts", report->attempts},
                          {"logs", report->logs},
                          {"metrics", report->metrics},
                          {"artifacts_deleted", report->artifacts_deleted},
                          {"artifacts_kept", report->artifacts_kept},
                          {"released_digests", report->released_digests.size()}});
  });

  // Garbage collection: stored artifacts no run references (older than
  // ?min_age_s, default 600, so that outputs being recorded are never taken); with
  // ?logs_older_than_days=N also old log lines of finished runs, with
  // ?attempt_dirs_older_than_days=N the attempt folders of runs finished that long ago.
  server_->Post("/api/v1/gc", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string dry = req.get_param_value("dry_run");
    const bool dry_run = dry == "1" || dry == "true";
    auto days = query_int(req, res, "logs_older_than_days", 0, 100000);
    if (!days) return;
    auto min_age_s = query_int(req, res, "min_age_s", storage::kGcGraceMs / 1000, 100000000);
    if (!min_age_s) return;
    auto dir_days = query_int(req, res, "attempt_dirs_older_than_days", 0, 100000);
    if (!dir_days) return;
    Scheduler::GcOptions options;
    options.mode = dry_run ? storage::GcMode::kDryRun : storage::GcMode::kDelete;
    options.min_age_ms = *min_age_s * 1000;
    options.logs_older_than_ms = *days * 86400000LL;
    options.dirs_older_than_ms = *dir_days * 86400000LL;
    auto gc = ctx_.scheduler->collect_garbage(options);
    if (!gc.ok()) return reply_status(res, gc.status());
    audit(caller_of(req), "gc", "artifacts",
          {{"dry_run", dry_run}, {"bytes", gc->artifacts.bytes}, {"logs_deleted", gc->logs_deleted}});
    reply_json(res, 200, {{"dry_run", dry_run},
                          {"artifacts", gc->artifacts.digests.size()},
                          {"files", gc->artifacts.files},
                          {"bytes", gc->artifacts.bytes},
                          {"referenced_artifacts", gc->artifacts.referenced_digests},
                          {"kept_young", gc->artifacts.skipped_young},
                          {"staging_entries", gc->artifacts.staging_entries},
                          {"logs_deleted", gc->logs_deleted},
                          {"attempt_dirs_removed", gc->attempt_dirs_removed}});
  });

  server_->Post(R"(/api/v1/runs/([^/]+)/cancel)", [this](const httplib::Request& req,
                                                          httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    Status cancelled = ctx_.scheduler->cancel(*run_id);
    if (!cancelled.ok()) return reply_status(res, cancelled);
    audit(caller_of(req), "cancel", "run " + std::to_string(*run_id));
    auto run = ctx_.store->get_run(*run_id);
    if (!run.ok()) return reply_status(res, run.status());
    reply_json(res, 202, {{"id", *run_id}, {"status", run->status}});
  });

  server_->Post(R"(/api/v1/runs/([^/]+)/retry)", [this](const httplib::Request& req,
                                                         httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    Status retried = ctx_.scheduler->retry(*run_id);
    if (!retried.ok()) return reply_status(res, retried);
    audit(caller_of(req), "retry", "run " + std::to_string(*run_id));
    reply_json(res, 202, {{"id", *run_id}, {"status", "running"}});
  });

  server_->Post(R"(/api/v1/runs/([^/]+)/steps/([^/]+)/rerun)", [this](const httplib::Request& req,
                                                                      httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    Status rerun = ctx_.scheduler->rerun_step(*run_id, req.matches[2]);
    if (!rerun.ok()) return reply_status(res, rerun);
    audit(caller_of(req), "rerun", "run " + std::to_string(*run_id), {{"step", req.matches[2].str()}});
    reply_json(res, 202, {{"id", *run_id}, {"status", "running"}});
  });
}

}  // namespace radflow
