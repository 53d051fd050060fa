// The OpenAPI-style template of a route pattern of auth::route_table():
// "/api/v1/runs/([^/]+)/steps/([^/]+)/logs" -> "/api/v1/runs/{run}/steps/{step}/logs".
// Each "([^/]+)" becomes {name}, the name being the path segment before it without
// its plural "s"; an optional tail "(/.*)?" is dropped (the OpenAPI document lists
// that form as a path of its own). The template is the route's name in
// radflow_http_requests_total and the key of its path in openapi.json.
// Pure; thread-safe.
#pragma once

#include <string>

namespace radflow {

std::string route_template(const std::string& pattern);
// The template with every {name} replaced by `value`: a path the route matches.
std::string instantiate_template(const std::string& path_template, const std::string& value);

}  // namespace radflow
