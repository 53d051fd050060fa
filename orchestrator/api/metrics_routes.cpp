// GET /metrics: the Prometheus text format (docs/api.md, "Metrics"). Counters are
// kept where things happen (scheduler_metrics.h, the store's writer, the HTTP
// requests below); gauges of state (runs by status, the queue, capacity, the
// writer's queue, open streams, artifact bytes) are read here at each scrape.
// Label values come from bounded sets: statuses, reason kinds, route templates.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "common/metrics.h"
#include "orchestrator/api/api_server.h"
#include "orchestrator/api/route_template.h"
#include "orchestrator/scheduler/scheduler_metrics.h"

namespace radflow {

namespace {

using metrics::Registry;
using metrics::Type;

constexpr const char* kRuns = "radflow_runs";
constexpr const char* kQueued = "radflow_queued_steps";
constexpr const char* kWaiting = "radflow_queued_steps_waiting";
constexpr const char* kGpuSlots = "radflow_gpu_slots";
constexpr const char* kCpuSlots = "radflow_cpu_slots";
constexpr const char* kWriterJobs = "radflow_db_writer_queue_jobs";
constexpr const char* kWriterRows = "radflow_db_writer_queue_rows";
constexpr const char* kWriterFailed = "radflow_db_writer_failed_writes_total";
constexpr const char* kStreams = "radflow_open_streams";
constexpr const char* kArtifactBytes = "radflow_artifact_store_bytes";
constexpr const char* kBuild = "radflow_build_info";
constexpr const char* kRequests = "radflow_http_requests_total";
constexpr const char* kLatency = "radflow_http_request_duration_seconds";

void declare_families() {
  Registry& r = Registry::global();
  scheduler_metrics::declare();
  r.declare(kRuns, Type::kGauge, "Runs in the database, by status.");
  r.declare(kQueued, Type::kGauge, "Queued steps of active runs that wait for something.");
  r.declare(kWaiting, Type::kGauge,
            "Queued steps by why they wait: input (an upstream step), retry_backoff, "
            "max_parallel, gpu, cpu, memory, other.");
  r.declare(kGpuSlots, Type::kGauge, "GPUs radflowd schedules on.");
  r.declare(kCpuSlots, Type::kGauge, "CPU slots radflowd schedules on.");
  r.declare(kWriterJobs, Type::kGauge, "Jobs waiting for the database writer thread.");
  r.declare(kWriterRows, Type::kGauge, "Rows (log lines, metric points) waiting for the writer.");
  r.declare(kWriterFailed, Type::kCounter, "Detached database writes that failed.");
  r.declare(kStreams, Type::kGauge, "Open event streams and log follows (all clients).");
  r.declare(kArtifactBytes, Type::kGauge, "Bytes of files in the artifact store.");
  r.declare(kBuild, Type::kGauge, "Always 1; the version is its label.");
  r.declare(kRequests, Type::kCounter,
            "HTTP requests answered, by method, route template and status code.");
  r.declare(kLatency, Type::kHistogram,
            "Time from routing a request to logging its response, by method and route "
            "template (streams count until they end).",
            metrics::seconds_buckets());
}

// A waiting text of the scheduler (scheduler.cpp, resource_pool.cpp) as one of a
// few kinds: the text names steps and numbers, which must not become labels.
std::string waiting_kind(const std::string& text) {
  if (text.rfind("waiting on input", 0) == 0) return "input";
  if (text.rfind("retrying in", 0) == 0) return "retry_backoff";
  if (text.rfind("run limit reached", 0) == 0) return "max_parallel";
  if (text.find("GPU") != std::string::npos) return "gpu";
  if (text.find("CPU slot") != std::string::npos) return "cpu";
  if (text.find("memory") != std::string::npos) return "memory";
  return "other";
}

// Summing file sizes walks the store: at most every 30 s.
double artifact_bytes(const std::string& root) {
  static std::mutex mu;
  static std::chrono::steady_clock::time_point measured{};
  static double bytes = 0;
  std::lock_guard<std::mutex> lock(mu);
  const auto now = std::chrono::steady_clock::now();
  if (measured != std::chrono::steady_clock::time_point{} && now - measured < std::chrono::seconds(30)) {
    return bytes;
  }
  double total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const auto size = it->file_size(size_ec);
      if (!size_ec) total += static_cast<double>(size);
    }
  }
  measured = now;
  bytes = total;
  return bytes;
}

// When this thread began the request it is answering (cpp-httplib answers each
// request on one thread, routing to logging); zero when unknown.
thread_local std::chrono::steady_clock::time_point request_started{};

}  // namespace

void ApiServer::note_request_start() { request_started = std::chrono::steady_clock::now(); }

void ApiServer::count_request(const std::string& method, const std::string& path, int status) {
  const auth::RouteRule* rule = auth::find_route(method, path);
  const std::string route = rule ? route_template(rule->pattern) : "unmatched";
  const std::string as = method == "HEAD" ? "GET" : method;
  const bool known_method = as == "GET" || as == "POST" || as == "DELETE";
  const std::string shown_method = known_method ? as : "other";
  Registry& r = Registry::global();
  r.add(kRequests, {{"method", shown_method}, {"route", route}, {"status", std::to_string(status)}});
  if (request_started != std::chrono::steady_clock::time_point{}) {
    r.observe(kLatency, {{"method", shown_method}, {"route", route}},
              std::chrono::duration<double>(std::chrono::steady_clock::now() - request_started)
                  .count());
    request_started = {};
  }
}

void ApiServer::add_metrics_routes() {
  declare_families();
  Registry::global().set(kBuild, {{"version", ctx_.version}}, 1);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    Registry& r = Registry::global();
    for (const char* status : {"queued", "running", "succeeded", "failed", "cancelled"}) {
      auto count = ctx_.store->count_runs(std::string(status));
      if (count.ok()) r.set(kRuns, {{"status", status}}, static_cast<double>(*count));
    }
    std::map<std::string, double> kinds;
    double queued = 0;
    for (const char* status : {"queued", "running"}) {
      auto runs = ctx_.store->list_runs(std::string(status), 10000, 0);
      if (!runs.ok()) continue;
      for (const auto& run : *runs) {
        for (const auto& [step, why] : ctx_.scheduler->waiting_reasons(run.id)) {
          ++kinds[waiting_kind(why)];
          ++queued;
        }
      }
    }
    r.set(kQueued, {}, queued);
    r.clear(kWaiting);
    for (const auto& [kind, n] : kinds) r.set(kWaiting, {{"reason", kind}}, n);
    const Capacity capacity = ctx_.scheduler->capacity();
    r.set(kGpuSlots, {}, capacity.gpus);
    r.set(kCpuSlots, {}, capacity.cpus);
    const storage::WriterStats writer = ctx_.store->writer_stats();
    r.set(kWriterJobs, {}, static_cast<double>(writer.queued_jobs));
    r.set(kWriterRows, {}, static_cast<double>(writer.queued_rows));
    r.set(kWriterFailed, {}, static_cast<double>(writer.failed_writes));
    r.set(kStreams, {}, streams_->open_streams());
    r.set(kArtifactBytes, {}, artifact_bytes(ctx_.artifacts->root()));
    res.set_content(r.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace radflow
