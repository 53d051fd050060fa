// The dashboard's own routes: the embedded single-page app at / (built from web/
// by web/CMakeLists.txt), and one dashboard-only read query, run search, which the
// public API does not have yet (see web/README.md).
#include <httplib.h>

#include <string>

#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"
#include "orchestrator/api/json_views.h"
#include "web/dashboard_assets.h"

namespace radflow {

void ApiServer::add_dashboard_routes() {
  server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_content(web::kDashboardHtml.data(), web::kDashboardHtml.size(),
                    "text/html; charset=utf-8");
  });

  // GET /api/v1/dashboard/runs?q=&status=&workflow=&sort=id|duration&order=asc|desc&limit=&offset=
  // Same body as GET /api/v1/runs. Filter, count, order and page are one
  // storage query (Store::search_runs, which says what q matches).
  server_->Get("/api/v1/dashboard/runs", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    storage::RunSearch search;
    if (req.has_param("status") && !req.get_param_value("status").empty()) {
      search.status = req.get_param_value("status");
    }
    if (req.has_param("q")) search.text = req.get_param_value("q");
    if (req.has_param("workflow")) search.workflow = req.get_param_value("workflow");
    const std::string sort = req.has_param("sort") ? req.get_param_value("sort") : "id";
    if (sort != "id" && sort != "duration") {
      return http::reply_errors(res, 400,
                                {{"bad_request", "sort must be id or duration", "?sort"}});
    }
    search.sort = sort == "duration" ? storage::RunSortKey::kDuration : storage::RunSortKey::kId;
    search.order = req.has_param("order") && req.get_param_value("order") == "asc"
                       ? storage::SortOrder::kAscending
                       : storage::SortOrder::kDescending;
    auto limit = http::query_int(req, res, "limit", 50, 1000);
    if (!limit) return;
    auto offset = http::query_int(req, res, "offset", 0, INT32_MAX);
    if (!offset) return;
    search.limit = *limit;
    search.offset = *offset;

    auto page = ctx_.store->search_runs(search);
    if (!page.ok()) return http::reply_status(res, page.status());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& run : page->runs) list.push_back(run_summary_json(run));
    http::reply_json(res, 200,
                     {{"runs", std::move(list)},
                      {"total", page->total},
                      {"limit", *limit},
                      {"offset", *offset}});
  });
}

}  // namespace radflow
