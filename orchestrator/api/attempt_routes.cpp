// POST /api/v1/attempts/{id}/events: the event lines of a worker that runs away from
// the daemon (a Slurm task), handed to the executor that follows the attempt
// (executor/remote_attempt_events.h). The guard lets only a credential that is no
// user's token through (auth::Role::kAttempt); the executor checks that it is the
// attempt's own.
#include <spdlog/spdlog.h>

#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"

namespace radflow {

using http::reply_errors;
using http::reply_json;

void ApiServer::add_attempt_routes() {
  server_->Post(R"(/api/v1/attempts/([^/]+)/events)", [this](const httplib::Request& req,
                                                              httplib::Response& res) {
    auto id = http::path_id(req, res, 1, "attempt");
    if (!id) return;
    if (ctx_.attempt_events == nullptr) {
      return reply_errors(res, 401, {{"invalid_token",
                                      "no running attempt has this token: this daemon has no "
                                      "remote workers (radflowd --executor slurm has)",
                                      ""}});
    }
    const std::string auth = req.get_header_value("Authorization");
    const std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
    auto refuse = [&res](const Status& status) {
      reply_errors(res, status.code() == "invalid_token" ? 401 : 400, {status.err()});
    };
    if (Status known = ctx_.attempt_events->check_token(*id, token); !known.ok()) {
      return refuse(known);
    }
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.value("rank", nlohmann::json()).is_number_integer() ||
        !body.value("lines", nlohmann::json()).is_string()) {
      return reply_errors(res, 400, {{"bad_request",
                                      "the body must be {\"rank\": N, \"lines\": \"one JSON "
                                      "event per line\"}",
                                      body.is_object() && body.contains("rank") ? "/lines" : "/rank"}});
    }
    Status delivered = ctx_.attempt_events->deliver_events(
        *id, token, body["rank"].get<int>(), body["lines"].get_ref<const std::string&>());
    if (!delivered.ok()) return refuse(delivered);
    reply_json(res, 200, {{"accepted", true}});
  });
}

}  // namespace radflow
