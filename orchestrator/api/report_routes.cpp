// GET /api/v1/report?runs=1,2[&bootstrap=N][&seed=S][&embed_overlays=N]: the encoder
// report card of those runs (orchestrator/report/report_card.h, docs/report-card.md).
// The bootstrap runs on the request's thread (one HTTP worker), while the request waits.
#include <httplib.h>

#include <sstream>

#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"
#include "orchestrator/report/report_card.h"

namespace radflow {
namespace {

// "1,2,3" -> {1, 2, 3}; nullopt after replying 400 naming the parameter.
std::optional<std::vector<int64_t>> run_ids(const httplib::Request& req, httplib::Response& res) {
  const std::string text = req.get_param_value("runs");
  std::vector<int64_t> ids;
  std::stringstream list(text);
  std::string item;
  while (std::getline(list, item, ',')) {
    try {
      size_t used = 0;
      const long long id = std::stoll(item, &used);
      if (used == item.size() && id > 0) {
        ids.push_back(id);
        continue;
      }
    } catch (...) {
    }
    ids.clear();
    break;
  }
  if (ids.empty() || ids.size() > 32) {
    http::reply_errors(res, 400,
                       {{"bad_request",
                         "query parameter runs must list 1 to 32 run ids separated by commas (runs=3,4), got \"" +
                             text + "\"",
                         "?runs"}});
    return std::nullopt;
  }
  return ids;
}

}  // namespace

void ApiServer::add_report_routes() {
  server_->Get("/api/v1/report", [this](const httplib::Request& req, httplib::Response& res) {
    auto ids = run_ids(req, res);
    if (!ids) return;
    report::ReportOptions options;
    auto resamples = http::query_int(req, res, "bootstrap", options.bootstrap.resamples, 100000);
    if (!resamples) return;
    auto seed = http::query_int(req, res, "seed", 0, std::numeric_limits<int64_t>::max());
    if (!seed) return;
    auto embed = http::query_int(req, res, "embed_overlays", 0, 4);
    if (!embed) return;
    options.bootstrap.resamples = static_cast<int>(*resamples);
    options.bootstrap.seed = static_cast<uint64_t>(*seed);
    options.embed_overlays = static_cast<int>(*embed);
    auto card = report::report_card_of_runs(*ctx_.store, *ctx_.artifacts, *ids, options);
    if (!card.ok()) return http::reply_status(res, card.status());
    http::reply_json(res, 200, *card);
  });
}

}  // namespace radflow
