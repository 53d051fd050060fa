#include "orchestrator/api/api_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "orchestrator/api/http_util.h"
#include "orchestrator/api/json_views.h"
#include "orchestrator/workflow/validate.h"

namespace radflow {

using http::reply_errors;
using http::reply_json;
using http::reply_status;

namespace {

// A step that names a plugin whose library exists but cannot be loaded deserves
// the loader's reason, not "unknown plugin".
void explain_broken_plugins(const std::string& text, const std::vector<BrokenPlugin>& broken,
                            std::vector<Error>* errors) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  for (auto& error : *errors) {
    if (error.code != "unknown_plugin" || !doc.is_object()) continue;
    nlohmann::json::json_pointer pointer(error.path);
    if (!doc.contains(pointer) || !doc.at(pointer).is_string()) continue;
    const std::string name = doc.at(pointer).get<std::string>();
    for (const auto& b : broken) {
      if (std::filesystem::path(b.path).stem() == name) {
        error.code = "plugin_broken";
        error.message = "plugin " + name + " (" + b.path + ") cannot be loaded: " + b.message +
                        " [" + b.code + "]";
      }
    }
  }
}

}  // namespace

ApiServer::ApiServer(ApiContext context)
    : ctx_(std::move(context)), server_(std::make_unique<httplib::Server>()) {
  add_routes();
  add_run_routes();
  add_step_routes();
  add_artifact_routes();
  add_stream_routes();
  add_dashboard_routes();
}

ApiServer::~ApiServer() { stop(); }

Status ApiServer::bind(const std::string& host, int port) {
  if (port == 0) {
    port_ = server_->bind_to_any_port(host.c_str());
    if (port_ < 0) return Status::error("listen_failed", "cannot listen on " + host);
  } else if (!server_->bind_to_port(host.c_str(), port)) {
    return Status::error("listen_failed",
                         "cannot listen on " + host + ":" + std::to_string(port) +
                             " (is another radflowd running? try --listen " + host + ":0)");
  } else {
    port_ = port;
  }
  return Status();
}

void ApiServer::listen() { server_->listen_after_bind(); }

void ApiServer::stop() {
  if (server_) server_->stop();
}

void ApiServer::add_routes() {
  server_->set_exception_handler([](const httplib::Request& req, httplib::Response& res,
                                    std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("{} {}: internal error: {}", req.method, req.path, what);
    reply_errors(res, 500, {{"internal_error", what, ""}});
  });
  // Errors cpp-httplib answers on its own (no route, a POST without Content-Length)
  // still get the API's error shape.
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string code = res.status == 404 ? "not_found" : "bad_request";
    std::string message = res.status == 404
                              ? "no route for " + req.method + " " + req.path + " (see docs/api.md)"
                              : "malformed request (a POST needs a body or Content-Length: 0; "
                                "with curl use -d '')";
    reply_errors(res, res.status, {{code, message, ""}});
  });
  server_->set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("{} {} -> {}", req.method, req.path, res.status);
  });

  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, {{"status", "ok"}, {"version", ctx_.version}});
  });

  server_->Get("/api/v1/plugins", [this](const httplib::Request&, httplib::Response& res) {
    (void)ctx_.registry->refresh();
    nlohmann::json plugins = nlohmann::json::array();
    for (const auto& [name, info] : ctx_.registry->plugins()) plugins.push_back(to_json(info));
    nlohmann::json broken = nlohmann::json::array();
    for (const auto& b : ctx_.registry->broken()) {
      broken.push_back({{"path", b.path}, {"code", b.code}, {"message", b.message}});
    }
    reply_json(res, 200, {{"plugins", plugins}, {"broken", broken}});
  });

  auto validate = [this](const httplib::Request& req) {
    (void)ctx_.registry->refresh();
    ValidationResult result =
        parse_workflow(req.body, ctx_.registry->plugins(), ctx_.scheduler->capacity());
    explain_broken_plugins(req.body, ctx_.registry->broken(), &result.errors);
    return result;
  };

  server_->Post("/api/v1/validate", [validate](const httplib::Request& req, httplib::Response& res) {
    ValidationResult result = validate(req);
    if (!result.ok()) return reply_errors(res, 400, result.errors);
    nlohmann::json order = nlohmann::json::array();
    for (const auto& step : result.workflow->steps) order.push_back(step.name);
    reply_json(res, 200, {{"valid", true}, {"name", result.workflow->name}, {"steps", order}});
  });

  server_->Post("/api/v1/runs", [this, validate](const httplib::Request& req, httplib::Response& res) {
    ValidationResult result = validate(req);
    if (!result.ok()) return reply_errors(res, 400, result.errors);
    // Who submitted it, as the client says (the CLI sends $USER); not authentication.
    const std::string who = req.get_header_value("X-Radflow-User").substr(0, 128);
    auto run_id = ctx_.scheduler->submit(*result.workflow, req.body, who);
    if (!run_id.ok()) return reply_status(res, run_id.status());
    spdlog::info("run {} accepted: {} ({} steps)", *run_id, result.workflow->name,
                 result.workflow->steps.size());
    res.set_header("Location", "/api/v1/runs/" + std::to_string(*run_id));
    reply_json(res, 201, {{"id", *run_id}, {"status", "queued"}});
  });
}

}  // namespace radflow
