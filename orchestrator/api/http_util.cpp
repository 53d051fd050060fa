#include "orchestrator/api/http_util.h"

#include "orchestrator/api/json_views.h"

namespace radflow::http {

void reply_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void reply_errors(httplib::Response& res, int status, const std::vector<Error>& errors) {
  reply_json(res, status, errors_json(errors));
}

void reply_status(httplib::Response& res, const Status& status) {
  const std::string& code = status.code();
  int http = 500;
  if (code == "not_found") http = 404;
  if (code == "bad_path" || code == "bad_request") http = 400;
  if (code == "run_active") http = 409;
  reply_errors(res, http, {status.err()});
}

std::optional<int64_t> path_id(const httplib::Request& req, httplib::Response& res, int index,
                               const std::string& what) {
  const std::string text = req.matches[index];
  try {
    size_t used = 0;
    int64_t value = std::stoll(text, &used);
    if (used == text.size() && value > 0) return value;
  } catch (...) {
  }
  reply_errors(res, 400, {{"bad_request", what + " must be a positive integer, got \"" + text + "\"", ""}});
  return std::nullopt;
}

std::optional<int64_t> query_int(const httplib::Request& req, httplib::Response& res,
                                 const std::string& name, int64_t fallback, int64_t max) {
  if (!req.has_param(name.c_str())) return fallback;
  const std::string text = req.get_param_value(name.c_str());
  try {
    size_t used = 0;
    int64_t value = std::stoll(text, &used);
    if (used == text.size() && value >= 0 && value <= max) return value;
  } catch (...) {
  }
  reply_errors(res, 400,
               {{"bad_request",
                 "query parameter " + name + " must be an integer in [0, " + std::to_string(max) +
                     "], got \"" + text + "\"",
                 "?" + name}});
  return std::nullopt;
}

}  // namespace radflow::http
