// GET /api/v1/openapi.json against the code: every route of auth::route_table()
// (the routes the server answers; a path outside the table is 404) is a path and
// method of the document with the same role, and every path and method of the
// document is a route of the table; every route is registered; and real responses
// of a daemon that ran a workflow validate against the document's schemas with
// the workflow validator's JSON Schema checker.
#include <gtest/gtest.h>

#include <cctype>
#include <regex>
#include <set>
#include <thread>

#include "orchestrator/api/auth.h"
#include "orchestrator/api/route_template.h"
#include "orchestrator/workflow/json_schema.h"
#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

using nlohmann::json;

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// The schema with every {"$ref": "#/..."} replaced by what it points to.
json resolve_refs(const json& node, const json& doc, int depth = 0) {
  if (depth > 32) return node;  // the document has no recursive schemas
  if (node.is_object()) {
    if (node.contains("$ref")) {
      const std::string ref = node["$ref"].get<std::string>();
      return resolve_refs(doc.at(json::json_pointer(ref.substr(1))), doc, depth + 1);
    }
    json out = json::object();
    for (const auto& [key, value] : node.items()) out[key] = resolve_refs(value, doc, depth + 1);
    return out;
  }
  if (node.is_array()) {
    json out = json::array();
    for (const auto& item : node) out.push_back(resolve_refs(item, doc, depth + 1));
    return out;
  }
  return node;
}

json fetch_document(Daemon& daemon) {
  auto res = daemon.http().Get("/api/v1/openapi.json");
  EXPECT_TRUE(res && res->status == 200);
  return res ? json::parse(res->body, nullptr, false) : json();
}

TEST(OpenApi, EveryRouteIsDescribedAndEveryPathIsARoute) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  const json doc = fetch_document(daemon);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.value("openapi", ""), "3.1.0");
  EXPECT_FALSE(doc["info"].value("version", "").empty());
  EXPECT_NE(doc["info"].value("version", ""), "0.0.0");  // the server's own

  // Table -> document, with the same role.
  std::set<std::pair<std::string, std::string>> described;
  for (const auto& rule : auth::route_table()) {
    const std::string path = route_template(rule.pattern);
    const std::string name = std::string(rule.method) + " " + path;
    ASSERT_TRUE(doc["paths"].contains(path)) << name << " is not in openapi.json";
    const json& operation = doc["paths"][path][lower(rule.method)];
    ASSERT_TRUE(operation.is_object()) << name << " is not in openapi.json";
    EXPECT_EQ(operation.value("x-radflow-role", ""), auth::role_name(rule.role)) << name;
    EXPECT_EQ(operation.value("x-radflow-own-runs", false),
              rule.ownership == auth::Ownership::kOwnRuns)
        << name;
    EXPECT_TRUE(operation["responses"].contains("200") || operation["responses"].contains("201") ||
                operation["responses"].contains("202"))
        << name << " has no success response";
  }
  // Document -> table: each path and method, with values in its parameters, is a route.
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      const std::string concrete = instantiate_template(path, "1");
      const auth::RouteRule* rule = auth::find_route(upper(method), concrete);
      EXPECT_NE(rule, nullptr) << upper(method) << " " << path << " is no route of the server";
      // Every {name} of the path is a declared path parameter, and nothing else is.
      std::set<std::string> in_path, declared;
      const std::regex param("\\{([a-z_]+)\\}");
      for (auto it = std::sregex_iterator(path.begin(), path.end(), param);
           it != std::sregex_iterator(); ++it) {
        in_path.insert((*it)[1]);
      }
      for (const auto& p : operation.value("parameters", json::array())) {
        if (p.value("in", "") == "path") declared.insert(p.value("name", ""));
      }
      EXPECT_EQ(in_path, declared) << upper(method) << " " << path;
    }
  }
  // Every route of the table is registered: the server routes its example (ids
  // that do not exist: 404 from the route, never "no route").
  for (const auto& rule : auth::route_table()) {
    const std::string method = rule.method;
    if (std::string(rule.example) == "/api/v1/events") continue;  // never ends; covered below
    const std::string path = instantiate_template(route_template(rule.pattern), "999");
    httplib::Result res = method == "GET"      ? daemon.http().Get(path.c_str())
                          : method == "DELETE" ? daemon.http().Delete(path.c_str())
                                               : daemon.http().Post(path.c_str(), "{}", "application/json");
    ASSERT_TRUE(res) << method << " " << path;
    EXPECT_EQ(res->body.find("no route for"), std::string::npos) << method << " " << path;
  }
  // A path outside the table is never routed.
  auto outside = daemon.http().Get("/api/v1/runs/1/steps/a/nothing");
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->status, 404);
  EXPECT_NE(outside->body.find("no route for"), std::string::npos);
}

// Checks one response against the document: its status and content type are
// described, and a JSON body validates against the schema.
class ResponseChecker {
 public:
  explicit ResponseChecker(json doc) : doc_(std::move(doc)) {}

  void check(const std::string& method, const std::string& path, const httplib::Result& res) {
    const std::string name = method + " " + path;
    ASSERT_TRUE(res) << name;
    const std::string bare = path.substr(0, path.find('?'));
    const auth::RouteRule* rule = auth::find_route(method, bare);
    ASSERT_NE(rule, nullptr) << name;
    std::string key = route_template(rule->pattern);
    // A file inside a folder artifact has its own path in the document.
    if (std::regex_match(bare, std::regex("/api/v1/artifacts/[^/]+/content/.+"))) key += "/{file}";
    const json& operation = doc_["paths"][key][lower(method)];
    ASSERT_TRUE(operation.is_object()) << name;
    const std::string status = std::to_string(res->status);
    ASSERT_TRUE(operation["responses"].contains(status))
        << name << " answered " << status << ", which openapi.json does not describe: " << res->body;
    const json response = resolve_refs(operation["responses"][status], doc_);
    std::string type = res->get_header_value("Content-Type");
    type = type.substr(0, type.find(';'));
    ASSERT_TRUE(response["content"].contains(type)) << name << " answered " << type;
    ++checked_;
    if (type != "application/json") return;
    const json body = json::parse(res->body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << name;
    std::vector<Error> errors;
    validate_against_schema(body, response["content"][type]["schema"], "", &errors);
    for (const auto& e : errors) ADD_FAILURE() << name << " (" << status << "): " << e.message;
  }
  int checked() const { return checked_; }

 private:
  json doc_;
  int checked_ = 0;
};

TEST(OpenApi, ResponsesValidateAgainstTheirSchemas) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  ResponseChecker checker(fetch_document(daemon));
  auto& http = daemon.http();
  auto get = [&](const std::string& path) { checker.check("GET", path, http.Get(path.c_str())); };
  auto post = [&](const std::string& path, const std::string& body) {
    auto res = http.Post(path.c_str(), body, "application/json");
    checker.check("POST", path, res);
    return res ? json::parse(res->body, nullptr, false) : json();
  };
  const std::string workflow = R"({"name": "o", "tags": ["t"], "steps": {
      "a": {"plugin": "test-ok", "params": {"extra": true}},
      "b": {"plugin": "test-ok", "inputs": {"in": "a.out"}},
      "f": {"plugin": "test-fail"}}})";
  post("/api/v1/validate", workflow);
  post("/api/v1/validate", R"({"name": "bad", "steps": {"a": {"plugin": "nope"}}})");
  post("/api/v1/runs", "{");
  const json accepted = post("/api/v1/runs", workflow);
  const std::string run = "/api/v1/runs/" + std::to_string(accepted.value("id", 0));
  get(run);  // while it runs: queued or running steps, waiting reasons
  daemon.wait_for_run(accepted.value("id", 0), std::chrono::seconds(120));
  get("/healthz");
  get("/");
  get("/api/v1/plugins");
  get("/api/v1/runs");
  get("/api/v1/runs?status=failed&limit=5");
  get("/api/v1/runs?status=bogus");
  get("/api/v1/dashboard/runs?q=o&sort=duration");
  get(run);
  get("/api/v1/runs/999");
  get("/api/v1/runs/x");
  get(run + "/steps/a/logs");
  get(run + "/steps/a/logs?follow=1");
  get(run + "/steps/f/logs?limit=1");
  get(run + "/steps/a/metrics?max_points=10");
  get(run + "/steps/a/metrics?attempt=7");
  get(run + "/steps/nope/outputs");
  auto outputs = http.Get((run + "/steps/a/outputs").c_str());
  checker.check("GET", run + "/steps/a/outputs", outputs);
  const json artifacts = json::parse(outputs->body);
  ASSERT_FALSE(artifacts.empty());
  const std::string artifact = "/api/v1/artifacts/" + std::to_string(artifacts[0].value("artifact", 0));
  get(artifact);
  get(artifact + "/content");
  get("/api/v1/artifacts/999");
  get("/api/v1/session");
  post("/api/v1/session", R"({"token": "rf_x"})");
  post("/api/v1/session", R"({"tok": 1})");
  checker.check("DELETE", "/api/v1/session", http.Delete("/api/v1/session"));
  get("/api/v1/audit?limit=10");
  post("/api/v1/gc?dry_run=1", "");
  get(run + "/manifest");
  get("/api/v1/runs/999/manifest");
  post("/api/v1/plugins/reload", "");
  const json replay = post(run + "/reproduce", "");
  daemon.wait_for_run(replay.value("id", 0), std::chrono::seconds(120));
  post(run + "/cancel", "");
  post(run + "/steps/a/rerun", "");
  daemon.wait_for_run(accepted.value("id", 0), std::chrono::seconds(120));
  post(run + "/retry", "");
  daemon.wait_for_run(accepted.value("id", 0), std::chrono::seconds(120));
  checker.check("DELETE", run, http.Delete(run.c_str()));
  checker.check("DELETE", "/api/v1/runs/999", http.Delete("/api/v1/runs/999"));
  get("/metrics");
  get("/api/v1/openapi.json");
  // The event stream: its content type, read until the first keep-alive or event.
  httplib::Client stream("127.0.0.1", daemon.port());
  stream.set_read_timeout(3);
  std::string content_type;
  (void)stream.Get(
      "/api/v1/events",
      [&](const httplib::Response& r) {
        content_type = r.get_header_value("Content-Type");
        return false;  // headers only
      },
      [](const char*, size_t) { return false; });
  EXPECT_EQ(content_type.rfind("text/event-stream", 0), 0u) << content_type;
  EXPECT_GE(checker.checked(), 35);
}

}  // namespace
}  // namespace radflow::test
