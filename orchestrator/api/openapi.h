// The OpenAPI 3.1 description of radflowd's API: orchestrator/api/openapi.json,
// compiled in and served at GET /api/v1/openapi.json. Each path is the
// route_template() of a rule of auth::route_table() (plus one path for a file
// inside a folder artifact), each operation names its least role in
// x-radflow-role; tests/e2e/openapi_test.cpp holds the table and the document to
// each other and validates real responses against the schemas.
#pragma once

#include <string_view>

namespace radflow {

// The document as written in openapi.json (info.version "0.0.0"; the server
// fills in its own).
std::string_view openapi_document();

}  // namespace radflow
