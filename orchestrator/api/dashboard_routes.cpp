// The dashboard's own routes: the embedded single-page app at / (built from web/
// by web/CMakeLists.txt), and one dashboard-only read query, run search, which the
// public API does not have yet (see web/README.md).
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"
#include "orchestrator/api/json_views.h"
#include "web/dashboard_assets.h"

namespace radflow {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// A run matches when q is its id ("42" or "#42") or a case-insensitive
// substring of its workflow name, message, submitter or one of its tags.
bool matches(const storage::RunRecord& run, const std::string& q_lower) {
  if (q_lower.empty()) return true;
  std::string id_text = q_lower[0] == '#' ? q_lower.substr(1) : q_lower;
  if (std::to_string(run.id) == id_text) return true;
  if (lower(run.name).find(q_lower) != std::string::npos ||
      lower(run.message).find(q_lower) != std::string::npos ||
      lower(run.submitted_by).find(q_lower) != std::string::npos) {
    return true;
  }
  // Tags have their own column (list_runs leaves workflow_json empty).
  auto tags = nlohmann::json::parse(run.tags_json, nullptr, false);
  if (!tags.is_array()) return false;
  for (const auto& tag : tags) {
    if (tag.is_string() && lower(tag.get<std::string>()).find(q_lower) != std::string::npos) {
      return true;
    }
  }
  return false;
}

int64_t duration_of(const storage::RunRecord& run) {
  return run.started_ms > 0 && run.finished_ms > 0 ? run.finished_ms - run.started_ms : -1;
}

}  // namespace

void ApiServer::add_dashboard_routes() {
  server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_content(web::kDashboardHtml.data(), web::kDashboardHtml.size(),
                    "text/html; charset=utf-8");
  });

  // GET /api/v1/dashboard/runs?q=&status=&workflow=&sort=id|duration&order=asc|desc&limit=&offset=
  // Same body as GET /api/v1/runs. The store has no name filter or duration
  // order, so this pages through every run matching `status` (1000 at a time)
  // and filters here: a few milliseconds at 10,000 runs. Replace it with a
  // storage query once the API has one.
  server_->Get("/api/v1/dashboard/runs", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    std::optional<std::string> status;
    if (req.has_param("status") && !req.get_param_value("status").empty()) {
      status = req.get_param_value("status");
    }
    const std::string q = lower(req.has_param("q") ? req.get_param_value("q") : "");
    const std::string workflow = req.has_param("workflow") ? req.get_param_value("workflow") : "";
    const std::string sort = req.has_param("sort") ? req.get_param_value("sort") : "id";
    const bool ascending = req.has_param("order") && req.get_param_value("order") == "asc";
    if (sort != "id" && sort != "duration") {
      return http::reply_errors(res, 400,
                                {{"bad_request", "sort must be id or duration", "?sort"}});
    }
    auto limit = http::query_int(req, res, "limit", 50, 1000);
    if (!limit) return;
    auto offset = http::query_int(req, res, "offset", 0, INT32_MAX);
    if (!offset) return;

    std::vector<storage::RunRecord> found;
    constexpr int kBatch = 1000;
    for (int page_offset = 0;; page_offset += kBatch) {
      auto runs = ctx_.store->list_runs(status, kBatch, page_offset);
      if (!runs.ok()) return http::reply_status(res, runs.status());
      for (auto& run : *runs) {
        if (!workflow.empty() && run.name != workflow) continue;
        if (!matches(run, q)) continue;
        run.workflow_json.clear();  // not part of a summary; keeps memory down
        run.params_json.clear();
        found.push_back(std::move(run));
      }
      if (static_cast<int>(runs->size()) < kBatch) break;
    }
    if (sort == "duration") {
      // Runs without a duration (not finished) go last in either order.
      std::stable_sort(found.begin(), found.end(), [&](const auto& a, const auto& b) {
        int64_t da = duration_of(a), db = duration_of(b);
        if ((da < 0) != (db < 0)) return db < 0;
        return ascending ? da < db : da > db;
      });
    } else if (ascending) {
      std::reverse(found.begin(), found.end());
    }
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = static_cast<size_t>(*offset);
         i < found.size() && list.size() < static_cast<size_t>(*limit); ++i) {
      list.push_back(run_summary_json(found[i]));
    }
    http::reply_json(res, 200,
                     {{"runs", list},
                      {"total", found.size()},
                      {"limit", *limit},
                      {"offset", *offset}});
  });
}

}  // namespace radflow
