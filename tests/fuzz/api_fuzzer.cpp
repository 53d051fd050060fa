// libFuzzer target: radflowd's HTTP API, in process. Once per process it wires what
// radflowd wires (a Store and ArtifactStore in a temp data folder, a PluginRegistry,
// a Scheduler, an EventBus) into an ApiServer on 127.0.0.1, port 0, served by a
// background thread. Each input then goes over real HTTP (httplib::Client):
//   - as the body of POST /api/v1/validate and POST /api/v1/runs;
//   - percent-encoded, as a path segment of GET /api/v1/runs/{id}, the step routes
//     (logs, metrics, outputs), GET /api/v1/artifacts/{id} and POST .../cancel;
//   - as the query string of GET /api/v1/runs and GET /api/v1/dashboard/runs.
// A crash is an answer of 500 or more, a body that is not JSON, or no answer at all
// (the server died or hung past the client's timeout).
//
// The plugin folder holds placeholder .so files whose descriptors come from the
// registry's DescriptorCache (fuzz_plugins.h: the test plugins and the shipped
// plugins' snapshots), so nothing is dlopened or run; one more, broken.so, has no
// descriptor and fails to describe (the worker is /bin/false), for the plugin_broken
// path. The scheduler is never started: accepted runs stay queued, and no worker
// process is ever launched.
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "common/sha256.h"
#include "orchestrator/api/api_server.h"
#include "tests/fuzz/fuzz_plugins.h"

namespace {

namespace fs = std::filesystem;
using radflow::fuzz::fail;

struct Harness {
  std::unique_ptr<radflow::storage::Store> store;
  std::unique_ptr<radflow::storage::ArtifactStore> artifacts;
  std::map<std::string, std::string> descriptors;  // by sha256 of the placeholder .so
  std::unique_ptr<radflow::PluginRegistry> registry;
  radflow::EventBus bus;
  std::unique_ptr<radflow::Scheduler> scheduler;
  std::unique_ptr<radflow::ApiServer> server;
  std::unique_ptr<httplib::Client> client;
};

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) fail("cannot write " + path.string());
}

std::string descriptor_text(const radflow::PluginInfo& info) {
  return radflow::to_json(info).dump();
}

// Never destroyed: the server thread serves until the process exits.
Harness* start_harness() {
  spdlog::set_level(spdlog::level::off);
  char root_template[] = "/tmp/radflow-fuzz-api-XXXXXX";
  if (!mkdtemp(root_template)) fail("mkdtemp");
  static const fs::path root = root_template;
  std::atexit([] {  // the data folder grows by every accepted run; not kept after a crash
    std::error_code ec;
    fs::remove_all(root, ec);
  });
  const fs::path data_dir = root / "data";
  const fs::path plugin_dir = root / "plugins";
  fs::create_directories(data_dir);
  fs::create_directories(plugin_dir);

  auto* h = new Harness;
  auto store = radflow::storage::Store::open(data_dir.string());
  if (!store.ok()) fail(store.status().to_string());
  h->store = std::move(*store);
  auto artifacts = radflow::storage::ArtifactStore::open(data_dir.string());
  if (!artifacts.ok()) fail(artifacts.status().to_string());
  h->artifacts = std::move(*artifacts);

  for (const auto& [name, info] : radflow::fuzz::fuzz_plugins()) {
    const std::string placeholder = "placeholder library of plugin " + name;
    write_file(plugin_dir / (name + ".so"), placeholder);
    h->descriptors[radflow::sha256_hex(placeholder)] = descriptor_text(info);
  }
  write_file(plugin_dir / "broken.so", "not a plugin");
  radflow::DescriptorCache cache;
  cache.get = [h](const std::string& sha256) -> std::optional<std::string> {
    auto it = h->descriptors.find(sha256);
    if (it == h->descriptors.end()) return std::nullopt;
    return it->second;
  };
  cache.put = [](const std::string&, const std::string&) {};
  h->registry = std::make_unique<radflow::PluginRegistry>(plugin_dir.string(), "/bin/false", cache);
  if (auto s = h->registry->refresh(); !s.ok()) fail(s.to_string());

  radflow::SchedulerOptions options;
  options.data_dir = data_dir.string();
  options.worker_path = "/bin/false";
  options.cpus = 16;
  options.gpus = {0, 1};
  options.memory_gb = 64;
  h->scheduler = std::make_unique<radflow::Scheduler>(options, h->store.get(), h->artifacts.get(),
                                                      h->registry.get(), &h->bus);
  radflow::ApiContext context;  // limits (where the API has them) keep their defaults
  context.store = h->store.get();
  context.artifacts = h->artifacts.get();
  context.scheduler = h->scheduler.get();
  context.registry = h->registry.get();
  context.bus = &h->bus;
  context.version = "fuzz";
  h->server = std::make_unique<radflow::ApiServer>(context);
  if (auto s = h->server->bind("127.0.0.1", 0); !s.ok()) fail(s.to_string());
  std::thread([h] { h->server->listen(); }).detach();

  h->client = std::make_unique<httplib::Client>("127.0.0.1", h->server->port());
  // A connection per request: on a kept-alive one, every other answer waits ~40 ms
  // (the server writes headers and body separately without TCP_NODELAY, and the
  // client's kernel delays its ACK); a new connection acks at once.
  h->client->set_keep_alive(false);
  h->client->set_tcp_nodelay(true);
  h->client->set_url_encode(false);  // paths are percent-encoded here, byte by byte
  h->client->set_connection_timeout(10);
  h->client->set_read_timeout(30);
  h->client->set_write_timeout(30);
  for (int i = 0; i < 100 && !h->client->Get("/healthz"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return h;
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

// Percent-encodes every byte except the unreserved ones and those in `keep`.
std::string encode(const std::string& text, const std::string& keep) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (unreserved(c) || keep.find(static_cast<char>(c)) != std::string::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void check(const httplib::Result& result, const std::string& what) {
  if (!result) fail(what + ": no answer (" + httplib::to_string(result.error()) + ")");
  if (result->status >= 500) fail(what + ": status " + std::to_string(result->status) + " " + result->body);
  if (nlohmann::json::parse(result->body, nullptr, false).is_discarded()) {
    fail(what + ": status " + std::to_string(result->status) + ", body not JSON: " +
         result->body.substr(0, 200));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* const h = start_harness();
  httplib::Client& client = *h->client;
  const std::string input(reinterpret_cast<const char*>(data), size);

  check(client.Post("/api/v1/validate", input, "application/json"), "POST /api/v1/validate");
  check(client.Post("/api/v1/runs", input, "application/json"), "POST /api/v1/runs");

  const std::string segment = encode(input, "");
  for (const std::string& path : {
           "/api/v1/runs/" + segment,
           "/api/v1/runs/1/steps/" + segment + "/logs",
           "/api/v1/runs/" + segment + "/steps/data/metrics",
           "/api/v1/runs/1/steps/" + segment + "/outputs",
           "/api/v1/artifacts/" + segment,
           "/api/v1/runs?" + encode(input, "=&"),
           "/api/v1/dashboard/runs?" + encode(input, "=&"),
       }) {
    check(client.Get(path), "GET " + path);
  }
  const std::string cancel = "/api/v1/runs/" + segment + "/cancel";
  check(client.Post(cancel, "", "application/json"), "POST " + cancel);
  return 0;
}
