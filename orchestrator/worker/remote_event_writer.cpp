#include "orchestrator/worker/remote_event_writer.h"

#include <httplib.h>

#include <cstdlib>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace radflow {

EventBatchWriter remote_event_writer_from_env(int rank) {
  const char* url = std::getenv("RADFLOW_EVENTS_URL");
  const char* token = std::getenv("RADFLOW_EVENTS_TOKEN");
  if (url == nullptr || *url == '\0') return {};
  // "http://host:port/api/v1/attempts/7/events" -> client of "http://host:port", path.
  const std::string full = url;
  const size_t scheme_end = full.find("://");
  const size_t path_start = full.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  const std::string base = full.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "/" : full.substr(path_start);
  auto client = std::make_shared<httplib::Client>(base);
  client->set_connection_timeout(5);
  client->set_read_timeout(30);
  if (token != nullptr) client->set_bearer_token_auth(token);
  if (const char* ca = std::getenv("RADFLOW_CACERT")) client->set_ca_cert_path(ca);

  return [client, full, path, rank](const std::string& lines) {
    const std::string body =
        nlohmann::json{{"rank", rank}, {"lines", lines}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
    const auto give_up = std::chrono::steady_clock::now() + kRetryWindow;
    auto backoff = std::chrono::milliseconds(200);
    for (;;) {
      auto result = client->Post(path, body, "application/json");
      if (result && result->status / 100 == 2) return true;
      if (result && result->status / 100 == 4 && result->status != 401) {
        spdlog::warn("radflow-worker: the daemon refused this attempt's events (HTTP {}: {}); "
                     "dropping them", result->status, result->body.substr(0, 200));
        return false;
      }
      if (std::chrono::steady_clock::now() + backoff > give_up) {
        spdlog::warn("radflow-worker: cannot post events to {} ({}); dropping them", full,
                     result ? "HTTP " + std::to_string(result->status)
                            : httplib::to_string(result.error()));
        return false;
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  };
}

}  // namespace radflow
