// Small helpers shared by the route files: JSON replies, the error shape, and
// parsing of path and query parameters into values or user-facing errors.
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace radflow::http {

void reply_json(httplib::Response& res, int status, const nlohmann::json& body);
// Reads a request body through `reader`, at most `max_bytes` (chunked bodies
// included). Returns false after replying 413 (or 400 for a broken body).
bool read_body(const httplib::ContentReader& reader, size_t max_bytes, std::string* body,
               httplib::Response& res);
// A streaming content provider that never lets an exception escape into
// cpp-httplib's thread: a throw is logged and ends the stream.
httplib::ContentProviderWithoutLength guarded_stream(
    std::string what, httplib::ContentProviderWithoutLength provider);
void reply_errors(httplib::Response& res, int status, const std::vector<Error>& errors);
// 404 for not_found, 400 for user mistakes, 500 for everything else.
void reply_status(httplib::Response& res, const Status& status);
// The integer in req.matches[index], or nullopt after replying 400.
std::optional<int64_t> path_id(const httplib::Request& req, httplib::Response& res, int index,
                               const std::string& what);
// A non-negative integer query parameter, its default when absent, or nullopt
// after replying 400.
std::optional<int64_t> query_int(const httplib::Request& req, httplib::Response& res,
                                 const std::string& name, int64_t fallback, int64_t max);

}  // namespace radflow::http
