// /api/v1/runs/{id}/steps/{step}/...: logs (paged or followed), metrics, outputs.
#include <httplib.h>

#include <algorithm>
#include <thread>

#include "common/lifecycle.h"
#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"
#include "orchestrator/api/json_views.h"

namespace radflow {

using http::path_id;
using http::query_int;
using http::reply_json;
using http::reply_status;

namespace {

bool step_finished(const std::string& status) {
  const auto parsed = step_status_from(status);
  return !parsed || is_terminal(*parsed);  // an unknown status never ends a follow otherwise
}

constexpr int kLogPage = 1000;

}  // namespace

void ApiServer::add_step_routes() {
  const std::string step_path = R"(/api/v1/runs/([^/]+)/steps/([^/]+))";

  server_->Get(step_path + "/logs", [this](const httplib::Request& req, httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    auto step = ctx_.store->find_step(*run_id, req.matches[2]);
    if (!step.ok()) return reply_status(res, step.status());
    auto after = query_int(req, res, "after", 0, INT64_MAX);
    if (!after) return;
    auto limit = query_int(req, res, "limit", kLogPage, 100000);
    if (!limit) return;
    const int64_t step_id = step->id;
    if (req.get_param_value("follow") != "1" && req.get_param_value("follow") != "true") {
      auto logs = ctx_.store->logs_of_step(step_id, *after, static_cast<int>(*limit));
      if (!logs.ok()) return reply_status(res, logs.status());
      nlohmann::json list = nlohmann::json::array();
      int64_t next = *after;
      for (const auto& log : *logs) {
        list.push_back(log_json(log));
        next = log.id;
      }
      return reply_json(res, 200, {{"logs", std::move(list)}, {"next_after", next}, {"step_status", step->status}});
    }
    // Follow: newline-delimited JSON, one log object a line, until the step has
    // finished and everything it logged was sent.
    std::shared_ptr<StreamTicket> ticket = admit_stream(req, res);
    if (!ticket) return;
    auto cursor = std::make_shared<int64_t>(*after);
    storage::Store* store = ctx_.store;
    res.set_chunked_content_provider(
        "application/x-ndjson",
        http::guarded_stream("GET " + req.path, [store, step_id, cursor, ticket](
                                                    size_t, httplib::DataSink& sink) {
          auto state = store->get_step(step_id);
          const bool finished = state.ok() && step_finished(state->status);
          if (finished) store->flush();
          auto logs = store->logs_of_step(step_id, *cursor, kLogPage);
          if (!logs.ok()) return false;
          for (const auto& log : *logs) {
            std::string line =
                log_json(log).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                "\n";
            if (!sink.write(line.data(), line.size())) return false;
            *cursor = log.id;
          }
          if (finished && logs->empty()) {
            sink.done();
            return true;
          }
          if (logs->empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
          return sink.is_writable();
        }));
  });

  server_->Get(step_path + "/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    auto step = ctx_.store->find_step(*run_id, req.matches[2]);
    if (!step.ok()) return reply_status(res, step.status());
    auto max_points = query_int(req, res, "max_points", 0, 1000000);
    if (!max_points) return;
    // A retried step's attempts each start their curves again: serve one attempt's
    // (the latest by default, ?attempt=N for another, ?attempt=all for every point).
    // The store downsamples in SQL, so a long run's curve never loads whole.
    const std::string which = req.has_param("attempt") ? req.get_param_value("attempt") : "";
    auto selector = storage::AttemptSelector::latest();
    if (which == "all") {
      selector = storage::AttemptSelector::all();
    } else if (!which.empty()) {
      const int number = std::atoi(which.c_str());
      selector = storage::AttemptSelector::attempt(std::to_string(number) == which ? number : 0);
    }
    auto points = ctx_.store->metric_series(step->id, selector, static_cast<int>(*max_points));
    if (!points.ok() && selector.kind == storage::AttemptSelector::Kind::kNumber &&
        points.status().code() == "not_found") {
      return http::reply_errors(
          res, 404, {{"not_found", "step " + step->name + " has no attempt " + which, "?attempt"}});
    }
    if (!points.ok()) return reply_status(res, points.status());
    reply_json(res, 200, metric_series_json(*points, static_cast<size_t>(*max_points)));
  });

  server_->Get(step_path + "/outputs", [this](const httplib::Request& req, httplib::Response& res) {
    auto run_id = path_id(req, res, 1, "run id");
    if (!run_id) return;
    auto step = ctx_.store->find_step(*run_id, req.matches[2]);
    if (!step.ok()) return reply_status(res, step.status());
    auto outputs = ctx_.store->outputs_of_step(step->id);
    if (!outputs.ok()) return reply_status(res, outputs.status());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& artifact : *outputs) list.push_back(artifact_json(artifact));
    reply_json(res, 200, list);
  });
}

}  // namespace radflow
