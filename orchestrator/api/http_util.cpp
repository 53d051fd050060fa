#include "orchestrator/api/http_util.h"

#include <spdlog/spdlog.h>

#include "orchestrator/api/json_views.h"

namespace radflow::http {

void reply_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

bool read_body(const httplib::ContentReader& reader, size_t max_bytes, std::string* body,
               httplib::Response& res) {
  bool too_large = false;
  const bool complete = reader([&](const char* data, size_t length) {
    if (body->size() + length > max_bytes) {
      too_large = true;
      return false;  // stop reading: nothing more of this body is kept
    }
    body->append(data, length);
    return true;
  });
  if (complete && !too_large) return true;
  res.set_header("Connection", "close");  // the rest of the body is never read
  if (too_large || res.status == 413) {
    reply_errors(res, 413,
                 {{"body_too_large",
                   "the request body is larger than the limit of " + std::to_string(max_bytes) +
                       " bytes (radflowd --max-body-mib)",
                   ""}});
  } else {
    reply_errors(res, 400, {{"bad_request", "the request body could not be read", ""}});
  }
  return false;
}

httplib::ContentProviderWithoutLength guarded_stream(
    std::string what, httplib::ContentProviderWithoutLength provider) {
  return [what = std::move(what), provider = std::move(provider)](size_t offset,
                                                                  httplib::DataSink& sink) {
    try {
      return provider(offset, sink);
    } catch (const std::exception& e) {
      spdlog::error("{}: stream ended by an internal error: {}", what, e.what());
    } catch (...) {
      spdlog::error("{}: stream ended by an unknown internal error", what);
    }
    return false;
  };
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
