#include "orchestrator/api/api_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
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
  const bool any_unknown = std::any_of(errors->begin(), errors->end(), [](const Error& e) {
    return e.code == "unknown_plugin";
  });
  if (!any_unknown) return;
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

// HTTPS when a certificate and key are given (SSLServer loads them here; bind()
// reports a failure), plain HTTP otherwise.
std::unique_ptr<httplib::Server> make_server(const SecurityOptions& security) {
  if (security.tls_cert_file.empty()) return std::make_unique<httplib::Server>();
  return std::make_unique<httplib::SSLServer>(security.tls_cert_file.c_str(),
                                              security.tls_key_file.c_str());
}

}  // namespace

ApiServer::ApiServer(ApiContext context)
    : ctx_(std::move(context)),
      streams_(std::make_shared<StreamGate>(ctx_.limits.max_streams,
                                            ctx_.limits.max_streams_per_client)),
      server_(make_server(ctx_.security)),
      allowed_hosts_(auth::allowed_hosts(ctx_.security.allowed_hosts)) {
  apply_limits();
  add_routes();
  add_run_routes();
  add_manifest_routes();
  add_step_routes();
  add_artifact_routes();
  add_stream_routes();
  add_dashboard_routes();
  add_auth_routes();
  add_metrics_routes();
  add_openapi_routes();
  add_attempt_routes();
  add_report_routes();
}

ApiServer::~ApiServer() { stop(); }

Status ApiServer::bind(const std::string& host, int port) {
  if (!server_->is_valid()) {
    return Status::error("tls_error", "cannot load the TLS certificate " +
                                          ctx_.security.tls_cert_file + " and key " +
                                          ctx_.security.tls_key_file +
                                          " (both PEM, the key unencrypted and matching)");
  }
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

void ApiServer::apply_limits() {
  const ApiLimits& limits = ctx_.limits;
  // Every long-lived stream holds a thread; keep threads beyond the stream cap so
  // that short requests (and /healthz) always find one.
  const int threads = std::max(limits.threads, limits.max_streams + 8);
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_read_timeout(limits.read_timeout_s, 0);
  server_->set_write_timeout(limits.write_timeout_s, 0);
  server_->set_keep_alive_timeout(limits.keep_alive_timeout_s);
  // Answers go out at once: without it, each small reply on a kept-alive connection
  // (the dashboard's) waited ~40 ms for the client's delayed ACK (Nagle).
  server_->set_tcp_nodelay(true);
  server_->set_payload_max_length(limits.max_body_bytes);
  // cpp-httplib bounds bodies that announce their Content-Length, but reads a
  // chunked body before routing with no bound. The two routes that take a body
  // read it themselves with the bound (read_body); every other route refuses it.
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    note_request_start();
    const bool chunked =
        req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
    const bool reads_body = req.method == "POST" &&
                            (req.path == "/api/v1/runs" || req.path == "/api/v1/validate");
    if (!chunked || reads_body) {
      // Then who may: Host, cross-site, token and role, ownership (auth_routes.cpp).
      return guard(req, res) ? httplib::Server::HandlerResponse::Handled
                             : httplib::Server::HandlerResponse::Unhandled;
    }
    res.set_header("Connection", "close");
    reply_errors(res, 411,
                 {{"length_required",
                   req.method + " " + req.path + " takes no chunked body; send Content-Length",
                   ""}});
    return httplib::Server::HandlerResponse::Handled;
  });
}

std::unique_ptr<StreamTicket> ApiServer::admit_stream(const httplib::Request& req,
                                                      httplib::Response& res) {
  StreamGate::Refusal why = StreamGate::Refusal::kNone;
  auto ticket = streams_->try_enter(req.remote_addr, &why);
  if (ticket) return ticket;
  res.set_header("Retry-After", "5");
  if (why == StreamGate::Refusal::kClientLimit) {
    reply_errors(res, 429,
                 {{"too_many_streams",
                   "this client already has " + std::to_string(streams_->max_per_client()) +
                       " open event streams or log follows (the limit); close one and retry",
                   ""}});
  } else {
    reply_errors(res, 503,
                 {{"too_many_streams",
                   "the server has " + std::to_string(streams_->max_streams()) +
                       " open event streams or log follows (the limit); retry later",
                   ""}});
  }
  return nullptr;
}

ValidationResult ApiServer::validate_workflow(const std::string& text) {
  (void)ctx_.registry->refresh();
  ValidationResult result = parse_workflow(text, ctx_.registry->plugins(),
                                           ctx_.scheduler->capacity(), {},
                                           &ctx_.scheduler->data_roots());
  explain_broken_plugins(text, ctx_.registry->broken(), &result.errors);
  return result;
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
  server_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string code = "bad_request";
    std::string message =
        "malformed request (a POST needs a body or Content-Length: 0; with curl use -d '')";
    if (res.status == 404) {
      code = "not_found";
      message = "no route for " + req.method + " " + req.path + " (see docs/api.md)";
    } else if (res.status == 413) {
      code = "body_too_large";
      message = "the request body is larger than the limit of " +
                std::to_string(ctx_.limits.max_body_bytes) + " bytes (radflowd --max-body-mib)";
    } else if (res.status == 414 || res.status == 431) {
      code = "request_too_large";
      message = "the request line or headers are too long";
    }
    reply_errors(res, res.status, {{code, message, ""}});
  });
  server_->set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("{} {} -> {}", req.method, req.path, res.status);
    count_request(req.method, req.path, res.status);
  });

  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, {{"status", "ok"}, {"version", ctx_.version}});
  });

  // Both rescan the plugin folder first: libraries added, replaced or removed since
  // the last scan show up without a restart. POST .../reload (admin) does only that,
  // for `radflow plugins reload`; the GET, and every validation, rescan too.
  auto list_plugins = [this](httplib::Response& res) {
    if (Status s = ctx_.registry->refresh(); !s.ok()) {
      reply_errors(res, 500, {{"plugin_dir_unreadable", s.message(), ""}});
      return;
    }
    nlohmann::json plugins = nlohmann::json::array();
    for (const auto& [name, info] : ctx_.registry->plugins()) plugins.push_back(to_json(info));
    nlohmann::json broken = nlohmann::json::array();
    for (const auto& b : ctx_.registry->broken()) {
      broken.push_back({{"path", b.path}, {"code", b.code}, {"message", b.message}});
    }
    reply_json(res, 200, {{"plugins", plugins}, {"broken", broken}});
  };
  server_->Get("/api/v1/plugins", [list_plugins](const httplib::Request&, httplib::Response& res) {
    list_plugins(res);
  });
  server_->Post("/api/v1/plugins/reload", [this, list_plugins](const httplib::Request& req,
                                                                httplib::Response& res) {
    list_plugins(res);
    if (res.status == 200) audit(caller_of(req), "plugins_reload", "plugin folder");
  });

  auto validate = [this](const std::string& body) { return validate_workflow(body); };
  const size_t max_body = ctx_.limits.max_body_bytes;

  server_->Post("/api/v1/validate", [validate, max_body](const httplib::Request& req,
                                                         httplib::Response& res,
                                                         const httplib::ContentReader& reader) {
    std::string body;
    if (!http::read_body(reader, max_body, &body, res)) return;
    ValidationResult result = validate(body);
    if (!result.ok()) return reply_errors(res, 400, result.errors);
    nlohmann::json order = nlohmann::json::array();
    for (const auto& step : result.workflow->steps) order.push_back(step.name);
    reply_json(res, 200, {{"valid", true}, {"name", result.workflow->name}, {"steps", order}});
  });

  server_->Post("/api/v1/runs", [this, validate, max_body](const httplib::Request& req,
                                                           httplib::Response& res,
                                                           const httplib::ContentReader& reader) {
    std::string body;
    if (!http::read_body(reader, max_body, &body, res)) return;
    ValidationResult result = validate(body);
    if (!result.ok()) return reply_errors(res, 400, result.errors);
    // The token's name; without authentication what the client says (the CLI sends $USER).
    const auth::Caller caller = caller_of(req);
    const nlohmann::json manifest = manifest_for(*result.workflow, body);
    auto run_id = ctx_.scheduler->submit(*result.workflow, body, caller.name, manifest.dump());
    if (!run_id.ok()) return reply_status(res, run_id.status());
    audit(caller, "submit", "run " + std::to_string(*run_id), {{"workflow", result.workflow->name}});
    spdlog::info("run {} accepted: {} ({} steps)", *run_id, result.workflow->name,
                 result.workflow->steps.size());
    res.set_header("Location", "/api/v1/runs/" + std::to_string(*run_id));
    reply_json(res, 201, {{"id", *run_id}, {"status", "queued"}});
  });
}

}  // namespace radflow
