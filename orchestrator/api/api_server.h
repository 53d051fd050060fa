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

#include <memory>
#include <string>

#include "common/status.h"
#include "orchestrator/api/api_limits.h"
#include "orchestrator/registry/plugin_registry.h"
#include "orchestrator/scheduler/event_bus.h"
#include "orchestrator/scheduler/scheduler.h"
#include "storage/artifact_store.h"
#include "storage/store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace radflow {

struct ApiContext {
  storage::Store* store;
  storage::ArtifactStore* artifacts;
  Scheduler* scheduler;
  PluginRegistry* registry;
  EventBus* bus;
  std::string version;
  ApiLimits limits;
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
  void add_step_routes();
  void add_artifact_routes();
  void add_stream_routes();
  void add_dashboard_routes();  // dashboard_routes.cpp: assets and dashboard-only queries
  void apply_limits();          // timeouts, thread pool, body size, chunked bodies
  // A place for one more long-lived response from this request's client, or null
  // after replying 429 (this client has too many) or 503 (the server has).
  std::unique_ptr<StreamTicket> admit_stream(const httplib::Request& req, httplib::Response& res);

  ApiContext ctx_;
  std::shared_ptr<StreamGate> streams_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
};

}  // namespace radflow
