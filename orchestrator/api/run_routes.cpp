// /api/v1/runs: list, detail (steps, attempts, why queued steps wait), cancel.
#include <httplib.h>

#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"
#include "orchestrator/api/json_views.h"

namespace radflow {

using http::path_id;
using http::query_int;
using http::reply_errors;
using http::reply_json;
using http::reply_status;

namespace {
const char* const kStatuses[] = {"queued", "running", "succeeded", "failed", "cancelled"};
}

void ApiServer::add_run_routes() {
  server_->Get("/api/v1/runs", [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> status;
    if (req.has_param("status")) {
      status = req.get_param_value("status");
      if (std::find(std::begin(kStatuses), std::end(kStatuses), *status) == std::end(kStatuses)) {
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
    reply_json(res, 200, {{"runs", list}, {"total", *total}, {"limit", *limit}, {"offset", *offset}});
  });

  server_->Get(R"(/api/v1/runs/([^/]+))", [this](const httplib::Request& req,
                                                  httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    auto run = ctx_.store->get_run(*run_id);
    if (!run.ok()) return reply_status(res, run.status());
    auto steps = ctx_.store->steps_of_run(*run_id);
    if (!steps.ok()) return reply_status(res, steps.status());
    auto waiting = ctx_.scheduler->waiting_reasons(*run_id);
    nlohmann::json body = run_summary_json(*run);
    body["params"] = nlohmann::json::parse(run->params_json, nullptr, false);
    body["workflow"] = nlohmann::json::parse(run->workflow_json, nullptr, false);
    nlohmann::json step_list = nlohmann::json::array();
    for (const auto& step : *steps) {
      nlohmann::json s = step_json(step);
      auto attempts = ctx_.store->attempts_of_step(step.id);
      if (!attempts.ok()) return reply_status(res, attempts.status());
      s["attempts"] = nlohmann::json::array();
      for (const auto& attempt : *attempts) s["attempts"].push_back(attempt_json(attempt));
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

  server_->Post(R"(/api/v1/runs/([^/]+)/cancel)", [this](const httplib::Request& req,
                                                          httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    Status cancelled = ctx_.scheduler->cancel(*run_id);
    if (!cancelled.ok()) return reply_status(res, cancelled);
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
    reply_json(res, 202, {{"id", *run_id}, {"status", "running"}});
  });

  server_->Post(R"(/api/v1/runs/([^/]+)/steps/([^/]+)/rerun)", [this](const httplib::Request& req,
                                                                      httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    Status rerun = ctx_.scheduler->rerun_step(*run_id, req.matches[2]);
    if (!rerun.ok()) return reply_status(res, rerun);
    reply_json(res, 202, {{"id", *run_id}, {"status", "running"}});
  });
}

}  // namespace radflow
