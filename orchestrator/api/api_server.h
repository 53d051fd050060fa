// ApiServer: radflowd's HTTP interface (cpp-httplib), the only place JSON meets
// HTTP. Routes live under /api/v1 (docs/api.md), plus /healthz and the dashboard at /.
// Every error body has one shape: {"errors": [{"code", "message", "path"}]}.
//
// The server borrows the store, scheduler and registry, which must outlive it.
// listen() blocks; stop() may be called from any thread (a signal handler's helper).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "orchestrator/registry/plugin_registry.h"
#include "orchestrator/scheduler/event_bus.h"
#include "orchestrator/scheduler/scheduler.h"
#include "storage/artifact_store.h"
#include "storage/store.h"

namespace httplib {
class Server;
}

namespace radflow {

struct ApiContext {
  storage::Store* store;
  storage::ArtifactStore* artifacts;
  Scheduler* scheduler;
  PluginRegistry* registry;
  EventBus* bus;
  std::string version;
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

  ApiContext ctx_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
};

}  // namespace radflow
