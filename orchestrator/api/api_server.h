// ApiServer: radflowd's HTTP interface (cpp-httplib), the only place JSON meets
// HTTP. Routes live under /api/v1 (docs/api.md), plus /healthz and the dashboard at /.
// Every error body has one shape: {"errors": [{"code", "message", "path"}]}.
// Requests are bounded by ApiLimits (api_limits.h): body size, timeouts, and the
// number of open event streams and log follows, so that no client can take every
// worker thread; /healthz stays answerable.
//
// The server borrows the store, scheduler and registry, which must outlive it.
// listen() blocks; stop() may be called from any thread (a signal handler's helper).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "orchestrator/api/api_limits.h"
#include "orchestrator/api/auth.h"
#include "orchestrator/executor/remote_attempt_events.h"
#include "orchestrator/registry/plugin_registry.h"
#include "orchestrator/scheduler/event_bus.h"
#include "orchestrator/scheduler/scheduler.h"
#include "orchestrator/workflow/validate.h"
#include "storage/artifact_store.h"
#include "storage/store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace radflow {

// Who may connect and how (SECURITY.md). Tokens live in the store: with none,
// every request is allowed (loopback use); with any, each route needs its role
// (auth::route_table()).
struct SecurityOptions {
  std::vector<std::string> allowed_hosts;  // Host names beyond 127.0.0.1, localhost, ::1
  std::string tls_cert_file;               // both set: HTTPS only
  std::string tls_key_file;
  // Off loopback radflowd requires tokens: revoking the last one then locks the
  // API (401) instead of opening it.
  bool require_tokens = false;
};

struct ApiContext {
  storage::Store* store;
  storage::ArtifactStore* artifacts;
  Scheduler* scheduler;
  PluginRegistry* registry;
  EventBus* bus;
  std::string version;
  ApiLimits limits;
  SecurityOptions security;
  // Where POST /api/v1/attempts/{id}/events delivers a remote worker's events (the
  // Slurm executor); null when no executor has remote workers (the route says 401).
  RemoteAttemptEvents* attempt_events = nullptr;
};

class ApiServer {
 public:
  explicit ApiServer(ApiContext context);
  ~ApiServer();

  // Binds host:port; port 0 picks a free one (see port()).
  Status bind(const std::string& host, int port);
  int port() const { return port_; }
  // Serves until stop(). Returns when the server has stopped.
  void listen();
  void stop();

 private:
  void add_routes();
  void add_run_routes();
  // manifest_routes.cpp: GET /api/v1/runs/{id}/manifest, POST .../reproduce.
  void add_manifest_routes();
  // The replay record of a run about to be submitted (run_manifest.h). The
  // worker's sha256 is null (and a warning logged) when its binary cannot be read.
  nlohmann::json manifest_for(const Workflow& workflow, const std::string& text,
                              const nlohmann::json& replay_of = nullptr);
  // Parses and validates workflow text against the plugins now in --plugin-dir.
  ValidationResult validate_workflow(const std::string& text);
  void add_step_routes();
  void add_artifact_routes();
  void add_stream_routes();
  void add_dashboard_routes();  // dashboard_routes.cpp: assets and dashboard-only queries
  // metrics_routes.cpp: GET /metrics, and the HTTP request counters every request
  // feeds (start noted before routing, counted when the response is logged).
  void add_metrics_routes();
  void add_openapi_routes();  // openapi_routes.cpp: GET /api/v1/openapi.json
  void add_attempt_routes();  // attempt_routes.cpp: POST /api/v1/attempts/{id}/events
  void add_report_routes();   // report_routes.cpp: GET /api/v1/report (the report card)
  static void note_request_start();
  static void count_request(const std::string& method, const std::string& path, int status);
  void apply_limits();          // timeouts, thread pool, body size, chunked bodies
  // auth_routes.cpp: the session and audit routes, and the checks every request
  // passes first (Host, cross-site, token and role, run ownership).
  void add_auth_routes();
  bool guard(const httplib::Request& req, httplib::Response& res);  // true: answered
  struct Authentication {
    bool enabled = false;    // some token exists
    bool presented = false;  // the request carries a credential
    std::optional<auth::Caller> caller;  // set unless a presented credential is invalid
  };
  Result<Authentication> authenticate(const httplib::Request& req);
  // The caller of a request the guard let through.
  auth::Caller caller_of(const httplib::Request& req);
  // Records an action in the audit log; a failure is logged, never returned.
  void audit(const auth::Caller& caller, const std::string& action, const std::string& target,
             const nlohmann::json& details = nlohmann::json::object());
  // A place for one more long-lived response from this request's client, or null
  // after replying 429 (this client has too many) or 503 (the server has).
  std::unique_ptr<StreamTicket> admit_stream(const httplib::Request& req, httplib::Response& res);

  ApiContext ctx_;
  std::shared_ptr<StreamGate> streams_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::vector<std::string> allowed_hosts_;
};

}  // namespace radflow
