// /api/v1/events: server-sent events of status changes, for the dashboard and
// `radflow submit --wait`.
#include <httplib.h>

#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"

namespace radflow {

void ApiServer::add_stream_routes() {
  server_->Get("/api/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
    EventBus* bus = ctx_.bus;
    auto subscription = bus->subscribe();
    std::optional<int64_t> only_run;
    if (req.has_param("run")) {
      const std::string text = req.get_param_value("run");
      try {
        size_t used = 0;
        only_run = std::stoll(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
      } catch (...) {
        bus->unsubscribe(subscription);
        return http::reply_errors(
            res, 400, {{"bad_request", "run must be a run id, got \"" + text + "\"", "?run"}});
      }
    }
    std::shared_ptr<StreamTicket> ticket = admit_stream(req, res);
    if (!ticket) {
      bus->unsubscribe(subscription);
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        http::guarded_stream("GET /api/v1/events", [subscription, only_run, ticket,
                                                    idle = std::make_shared<int>(0)](
                                                       size_t, httplib::DataSink& sink) {
          // Short waits, so a stopping server is never held up by an idle stream.
          auto event = subscription->next(std::chrono::seconds(1));
          std::string chunk;
          if (!event) {
            if (++*idle < 10) return sink.is_writable();
            *idle = 0;
            chunk = ": keep-alive\n\n";  // lets proxies and clients notice a dead peer
          } else {
            if (only_run && event->value("run_id", int64_t{0}) != *only_run) return true;
            // Event text is sanitised where it enters radflow; replacing here too
            // means a stray byte can never end the stream.
            chunk = "event: " + event->value("type", std::string("message")) +
                    "\nid: " + std::to_string(event->value("seq", int64_t{0})) + "\ndata: " +
                    event->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                    "\n\n";
          }
          return sink.write(chunk.data(), chunk.size());
        }),
        [bus, subscription](bool) { bus->unsubscribe(subscription); });
  });
}

}  // namespace radflow
