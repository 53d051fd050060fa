// GET /api/v1/openapi.json: the API's OpenAPI 3.1 description (openapi.h), public
// like /healthz: it describes the routes, not anything stored.
#include <httplib.h>

#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"
#include "orchestrator/api/openapi.h"

namespace radflow {

void ApiServer::add_openapi_routes() {
  nlohmann::json document = nlohmann::json::parse(openapi_document());
  document["info"]["version"] = ctx_.version;
  const std::string body = document.dump();
  server_->Get("/api/v1/openapi.json", [body](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/json");
  });
}

}  // namespace radflow
