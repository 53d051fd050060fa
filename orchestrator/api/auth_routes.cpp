// The checks every request passes before its route (auth.h decides, this file
// gathers the facts), the session routes behind the dashboard's sign-in, and
// GET /api/v1/audit.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include "common/utf8.h"
#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"

namespace radflow {

using http::query_int;
using http::reply_errors;
using http::reply_json;
using http::reply_status;

namespace {

auth::RequestFacts facts_of(const httplib::Request& req) {
  auth::RequestFacts facts;
  facts.method = req.method;
  facts.path = req.path;
  facts.host = req.get_header_value("Host");
  facts.origin = req.get_header_value("Origin");
  facts.sec_fetch_site = req.get_header_value("Sec-Fetch-Site");
  facts.content_type = req.get_header_value("Content-Type");
  const std::string length = req.get_header_value("Content-Length");
  facts.has_body = (!length.empty() && length != "0") ||
                   req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
  return facts;
}

// The run a /api/v1/runs/N/... path names, or 0.
int64_t run_of_path(const std::string& path) {
  const std::string prefix = "/api/v1/runs/";
  if (path.rfind(prefix, 0) != 0) return 0;
  try {
    size_t used = 0;
    const std::string rest = path.substr(prefix.size(), path.find('/', prefix.size()) - prefix.size());
    const long long id = std::stoll(rest, &used);
    return used == rest.size() && id > 0 ? id : 0;
  } catch (...) {
    return 0;
  }
}

}  // namespace

Result<ApiServer::Authentication> ApiServer::authenticate(const httplib::Request& req) {
  Authentication result;
  RF_ASSIGN_OR_RETURN(std::vector<storage::TokenRecord> tokens, ctx_.store->active_tokens());
  const std::string presented = auth::presented_token(req.get_header_value("Authorization"),
                                                      req.get_header_value("Cookie"));
  result.enabled = !tokens.empty() || ctx_.security.require_tokens;
  result.presented = !presented.empty();
  if (!result.enabled) {
    auth::Caller anonymous;
    anonymous.name = to_valid_utf8(truncate_utf8(req.get_header_value("X-Radflow-User"), 128, ""));
    result.caller = anonymous;
    return result;
  }
  if (auto token = auth::match_token(presented, tokens); token && result.presented) {
    result.caller = auth::Caller{true, token->name, *auth::token_role(token->role)};
  }
  return result;
}

auth::Caller ApiServer::caller_of(const httplib::Request& req) {
  auto who = authenticate(req);
  if (who.ok() && who->caller) return *who->caller;
  return auth::Caller{false, "", auth::Role::kPublic};
}

void ApiServer::audit(const auth::Caller& caller, const std::string& action,
                      const std::string& target, const nlohmann::json& details) {
  storage::AuditRecord record;
  record.actor = caller.name.empty() ? "anonymous" : caller.name;
  record.role = caller.authenticated ? auth::role_name(caller.role) : "";
  record.action = action;
  record.target = target;
  record.details_json = details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (Status s = ctx_.store->append_audit(record); !s.ok()) {
    spdlog::error("audit log: cannot record {} {} by {}: {}", action, target, record.actor,
                  s.to_string());
  }
}

bool ApiServer::guard(const httplib::Request& req, httplib::Response& res) {
  auto deny = [&](const auth::Decision& decision) {
    // A refused body is never read: the connection cannot be reused.
    res.set_header("Connection", "close");
    if (decision.http_status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"radflow\"");
    reply_errors(res, decision.http_status, {decision.error});
    return true;
  };
  const auth::RequestFacts facts = facts_of(req);
  if (auto d = auth::check_host(facts, allowed_hosts_); !d.allowed()) return deny(d);
  if (auto d = auth::check_cross_site(facts); !d.allowed()) return deny(d);
  const auth::RouteRule* rule = auth::find_route(req.method, req.path);
  // A path outside the table is never routed, even if a handler were registered
  // for it without a rule: the table is the whole API (and openapi.json).
  if (rule == nullptr) {
    reply_errors(res, 404, {{"not_found", "no route for " + req.method + " " + req.path +
                                              " (see docs/api.md)", ""}});
    return true;
  }
  // A public one (/healthz) never reads the tokens.
  if (rule->role == auth::Role::kPublic) return false;
  auto who = authenticate(req);
  if (!who.ok()) {
    reply_status(res, who.status());
    return true;
  }
  const std::string route_name = req.method + " " + req.path;
  if (auto d = auth::check_role(*rule, who->enabled, who->presented, who->caller, route_name);
      !d.allowed()) {
    return deny(d);
  }
  if (rule->ownership == auth::Ownership::kOwnRuns && who->enabled) {
    const int64_t run_id = run_of_path(req.path);
    auto run = ctx_.store->get_run(run_id);
    if (run.ok()) {
      if (auto d = auth::check_owner(*rule, *who->caller, run_id, run->submitted_by);
          !d.allowed()) {
        return deny(d);
      }
    }  // an unknown run: the route answers 404
  }
  return false;
}

void ApiServer::add_auth_routes() {
  const bool tls = !ctx_.security.tls_cert_file.empty();

  // Sign-in: the token from the JSON body becomes an HttpOnly, SameSite=Strict
  // cookie, so that page scripts never hold it.
  server_->Post("/api/v1/session", [this, tls](const httplib::Request& req,
                                               httplib::Response& res) {
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
      return reply_errors(res, 400, {{"bad_request", "the body must be {\"token\": \"rf_...\"}",
                                      "/token"}});
    }
    auto tokens = ctx_.store->active_tokens();
    if (!tokens.ok()) return reply_status(res, tokens.status());
    if (tokens->empty() && !ctx_.security.require_tokens) {
      return reply_json(res, 200, {{"auth", false}});  // nothing to sign in to
    }
    const std::string token = body["token"].get<std::string>();
    auto match = auth::match_token(token, *tokens);
    if (!match || token.empty()) {
      return reply_errors(res, 401, {{"invalid_token",
                                      "the token is unknown or revoked; ask an admin for a new "
                                      "one (`radflowd token create NAME --role ROLE`)",
                                      "/token"}});
    }
    res.set_header("Set-Cookie", std::string(auth::kSessionCookie) + "=" + token +
                                     "; Path=/; HttpOnly; SameSite=Strict" +
                                     (tls ? "; Secure" : ""));
    reply_json(res, 200, {{"auth", true}, {"name", match->name}, {"role", match->role}});
  });

  server_->Delete("/api/v1/session", [tls](const httplib::Request&, httplib::Response& res) {
    res.set_header("Set-Cookie", std::string(auth::kSessionCookie) +
                                     "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" +
                                     (tls ? "; Secure" : ""));
    reply_json(res, 200, {{"signed_out", true}});
  });

  server_->Get("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
    auto who = authenticate(req);
    if (!who.ok()) return reply_status(res, who.status());
    if (!who->enabled) return reply_json(res, 200, {{"auth", false}});
    reply_json(res, 200, {{"auth", true},
                          {"name", who->caller->name},
                          {"role", auth::role_name(who->caller->role)}});
  });

  // GET /api/v1/audit?limit=N&before=ID: newest first.
  server_->Get("/api/v1/audit", [this](const httplib::Request& req, httplib::Response& res) {
    auto limit = query_int(req, res, "limit", 100, 1000);
    if (!limit) return;
    auto before = query_int(req, res, "before", 0, INT64_MAX);
    if (!before) return;
    auto records = ctx_.store->list_audit(static_cast<int>(*limit), *before);
    if (!records.ok()) return reply_status(res, records.status());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : *records) {
      list.push_back({{"id", r.id},
                      {"ts_ms", r.ts_ms},
                      {"actor", r.actor},
                      {"role", r.role},
                      {"action", r.action},
                      {"target", r.target},
                      {"details", nlohmann::json::parse(r.details_json, nullptr, false)}});
    }
    reply_json(res, 200, {{"audit", std::move(list)}});
  });
}

}  // namespace radflow
