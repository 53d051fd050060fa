// The dashboard's own routes: the embedded single-page app at /.
#include <httplib.h>

#include "orchestrator/api/api_server.h"
#include "web/dashboard_assets.h"

namespace radflow {

void ApiServer::add_dashboard_routes() {
  server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(web::kDashboardHtml, "text/html; charset=utf-8");
  });
}

}  // namespace radflow
