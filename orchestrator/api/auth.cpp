#include "orchestrator/api/auth.h"

#include <sys/random.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <regex>

#include "common/sha256.h"

namespace radflow::auth {

namespace {

constexpr const char* kRun = R"(/api/v1/runs/([^/]+))";

// std::regex for each rule, built once (the table is immutable).
const std::vector<std::regex>& route_patterns() {
  static const std::vector<std::regex> patterns = [] {
    std::vector<std::regex> built;
    for (const auto& rule : route_table()) built.emplace_back(rule.pattern);
    return built;
  }();
  return patterns;
}

Decision refuse(int status, std::string code, std::string message) {
  return {status, {std::move(code), std::move(message), ""}};
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "https://host:port" -> "host:port" (lower case); "" for anything without "://".
std::string origin_authority(const std::string& origin) {
  const auto scheme_end = origin.find("://");
  if (scheme_end == std::string::npos) return "";
  std::string rest = origin.substr(scheme_end + 3);
  return lower(rest.substr(0, rest.find('/')));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kPublic: return "public";
    case Role::kViewer: return "viewer";
    case Role::kSubmitter: return "submitter";
    case Role::kAdmin: return "admin";
    case Role::kAttempt: return "attempt";
  }
  return "unknown";
}

std::optional<Role> token_role(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "submitter") return Role::kSubmitter;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

const std::vector<RouteRule>& route_table() {
  using O = Ownership;
  using R = Role;
  static const std::vector<RouteRule> table = {
      {"GET", "/healthz", "/healthz", R::kPublic, O::kAny},
      {"GET", "/", "/", R::kPublic, O::kAny},
      {"POST", "/api/v1/session", "/api/v1/session", R::kPublic, O::kAny},
      {"DELETE", "/api/v1/session", "/api/v1/session", R::kPublic, O::kAny},
      {"GET", "/api/v1/session", "/api/v1/session", R::kViewer, O::kAny},
      {"GET", "/api/v1/plugins", "/api/v1/plugins", R::kViewer, O::kAny},
      {"POST", "/api/v1/plugins/reload", "/api/v1/plugins/reload", R::kAdmin, O::kAny},
      {"POST", "/api/v1/validate", "/api/v1/validate", R::kViewer, O::kAny},
      {"GET", "/api/v1/runs", "/api/v1/runs", R::kViewer, O::kAny},
      {"POST", "/api/v1/runs", "/api/v1/runs", R::kSubmitter, O::kAny},
      {"GET", "/api/v1/dashboard/runs", "/api/v1/dashboard/runs", R::kViewer, O::kAny},
      {"GET", kRun, "/api/v1/runs/1", R::kViewer, O::kAny},
      {"DELETE", kRun, "/api/v1/runs/1", R::kSubmitter, O::kOwnRuns},
      {"POST", R"(/api/v1/runs/([^/]+)/cancel)", "/api/v1/runs/1/cancel", R::kSubmitter,
       O::kOwnRuns},
      {"GET", R"(/api/v1/runs/([^/]+)/manifest)", "/api/v1/runs/1/manifest", R::kViewer,
       O::kAny},
      {"POST", R"(/api/v1/runs/([^/]+)/reproduce)", "/api/v1/runs/1/reproduce", R::kSubmitter,
       O::kAny},
      {"POST", R"(/api/v1/runs/([^/]+)/retry)", "/api/v1/runs/1/retry", R::kSubmitter,
       O::kOwnRuns},
      {"POST", R"(/api/v1/runs/([^/]+)/steps/([^/]+)/rerun)", "/api/v1/runs/1/steps/a/rerun",
       R::kSubmitter, O::kOwnRuns},
      {"GET", R"(/api/v1/runs/([^/]+)/steps/([^/]+)/logs)", "/api/v1/runs/1/steps/a/logs",
       R::kViewer, O::kAny},
      {"GET", R"(/api/v1/runs/([^/]+)/steps/([^/]+)/metrics)", "/api/v1/runs/1/steps/a/metrics",
       R::kViewer, O::kAny},
      {"GET", R"(/api/v1/runs/([^/]+)/steps/([^/]+)/outputs)", "/api/v1/runs/1/steps/a/outputs",
       R::kViewer, O::kAny},
      {"GET", R"(/api/v1/artifacts/([^/]+))", "/api/v1/artifacts/1", R::kViewer, O::kAny},
      {"GET", R"(/api/v1/artifacts/([^/]+)/content(/.*)?)", "/api/v1/artifacts/1/content",
       R::kViewer, O::kAny},
      {"GET", "/api/v1/events", "/api/v1/events", R::kViewer, O::kAny},
      {"GET", "/api/v1/report", "/api/v1/report", R::kViewer, O::kAny},
      {"POST", "/api/v1/gc", "/api/v1/gc", R::kAdmin, O::kAny},
      {"GET", "/api/v1/audit", "/api/v1/audit", R::kAdmin, O::kAny},
      // A remote worker's events (docs/slurm.md), with its attempt's own token.
      {"POST", R"(/api/v1/attempts/([^/]+)/events)", "/api/v1/attempts/1/events", R::kAttempt,
       O::kAny},
      // Prometheus scrapes with a viewer token (docs/service.md, "Metrics").
      {"GET", "/metrics", "/metrics", R::kViewer, O::kAny},
      {"GET", "/api/v1/openapi.json", "/api/v1/openapi.json", R::kPublic, O::kAny},
  };
  return table;
}

const RouteRule* find_route(const std::string& method, const std::string& path) {
  // cpp-httplib answers HEAD with the GET handler.
  const std::string as = method == "HEAD" ? "GET" : method;
  const auto& table = route_table();
  const auto& patterns = route_patterns();
  for (size_t i = 0; i < table.size(); ++i) {
    if (as == table[i].method && std::regex_match(path, patterns[i])) return &table[i];
  }
  return nullptr;
}

bool is_state_changing(const std::string& method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

std::vector<std::string> allowed_hosts(const std::vector<std::string>& extra) {
  std::vector<std::string> hosts = {"127.0.0.1", "localhost", "::1"};
  for (const auto& name : extra) hosts.push_back(lower(name));
  return hosts;
}

std::string host_without_port(std::string_view authority) {
  std::string text = lower(authority);
  if (!text.empty() && text.front() == '[') {  // [v6]:port
    const auto close = text.find(']');
    return close == std::string::npos ? text : text.substr(1, close - 1);
  }
  const auto colon = text.find(':');
  if (colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
    return text.substr(0, colon);  // name:port (a bare v6 address has several colons)
  }
  return text;
}

Decision check_host(const RequestFacts& request, const std::vector<std::string>& allowed) {
  const std::string host = host_without_port(request.host);
  for (const auto& name : allowed) {
    if (host == name) return {};
  }
  std::string names;
  for (const auto& name : allowed) names += (names.empty() ? "" : ", ") + name;
  return refuse(421, "host_not_allowed",
                "this server does not answer to the Host \"" + request.host +
                    "\" (it answers to " + names +
                    "); if that name is yours, start radflowd with --allowed-host " +
                    (host.empty() ? "NAME" : host));
}

Decision check_cross_site(const RequestFacts& request) {
  if (!is_state_changing(request.method)) return {};
  const std::string what = request.method + " " + request.path;
  if (lower(request.sec_fetch_site) == "cross-site") {
    return refuse(403, "cross_site",
                  what + " came from another site's page (Sec-Fetch-Site: cross-site); "
                         "use the dashboard or the CLI");
  }
  if (!request.origin.empty() && origin_authority(request.origin) != lower(request.host)) {
    return refuse(403, "cross_site",
                  what + " came from the page of another origin (" + request.origin +
                      "); use the dashboard or the CLI");
  }
  std::string type = lower(request.content_type.substr(0, request.content_type.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  if (type == "application/json" || (request.content_type.empty() && !request.has_body)) return {};
  return refuse(403, "json_required",
                what + " needs Content-Type: application/json (got \"" + request.content_type +
                    "\"); with curl add -H 'Content-Type: application/json'");
}

Decision check_role(const RouteRule& rule, bool auth_enabled, bool credential_presented,
                    const std::optional<Caller>& caller, const std::string& route_name) {
  if (!auth_enabled || rule.role == Role::kPublic) return {};
  const std::string needs = std::string(role_name(rule.role));
  if (rule.role == Role::kAttempt) {
    // No user's token: perhaps the attempt's own, which the route itself checks.
    if (credential_presented && !caller) return {};
    return refuse(credential_presented ? 403 : 401, credential_presented ? "forbidden" : "unauthenticated",
                  route_name + " takes only the attempt's own token (RADFLOW_EVENTS_TOKEN, which "
                               "the Slurm executor gives the attempt's workers); tokens made "
                               "with `radflowd token create` are refused here");
  }
  if (!credential_presented) {
    return refuse(401, "unauthenticated",
                  route_name + " needs a token with role " + needs +
                      " or higher: send Authorization: Bearer TOKEN (the CLI reads "
                      "$RADFLOW_TOKEN) or sign in on the dashboard; an admin creates tokens "
                      "with `radflowd token create NAME --role ROLE`");
  }
  if (!caller) {
    return refuse(401, "invalid_token",
                  "the token is unknown or revoked; ask an admin for a new one "
                  "(`radflowd token create NAME --role ROLE`)");
  }
  if (caller->role >= rule.role) return {};
  return refuse(403, "forbidden",
                "token " + caller->name + " has role " + role_name(caller->role) + "; " +
                    route_name + " needs " + needs + " or higher");
}

Decision check_owner(const RouteRule& rule, const Caller& caller, int64_t run_id,
                     const std::string& submitted_by) {
  if (rule.ownership != Ownership::kOwnRuns || caller.role >= Role::kAdmin ||
      !caller.authenticated || submitted_by == caller.name) {
    return {};
  }
  return refuse(403, "not_owner",
                "run " + std::to_string(run_id) + " was submitted by " +
                    (submitted_by.empty() ? "nobody known" : submitted_by) + ", not by " +
                    caller.name + "; only its submitter or an admin may change it");
}

Result<std::string> new_token() {
  unsigned char bytes[32];
  size_t filled = 0;
  while (filled < sizeof(bytes)) {
    const ssize_t got = getrandom(bytes + filled, sizeof(bytes) - filled, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      return Status::error("io_error",
                           std::string("getrandom failed: ") + std::strerror(errno));
    }
    filled += static_cast<size_t>(got);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string token = "rf_";
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  return token;
}

std::string token_hash(std::string_view token) { return sha256_hex(token); }

std::optional<storage::TokenRecord> match_token(std::string_view presented,
                                                const std::vector<storage::TokenRecord>& active) {
  const std::string hash = token_hash(presented);
  std::optional<storage::TokenRecord> found;
  // Every hash is compared, so the time does not depend on which one matched.
  for (const auto& token : active) {
    if (constant_time_equal(hash, token.hash) && !found) found = token;
  }
  return found;
}

std::string presented_token(const std::string& authorization, const std::string& cookie) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() &&
      lower(authorization.substr(0, kBearer.size())) == "bearer ") {
    std::string token = authorization.substr(kBearer.size());
    while (!token.empty() && token.back() == ' ') token.pop_back();
    return token;
  }
  const std::string key = std::string(kSessionCookie) + "=";
  size_t at = 0;
  while (at < cookie.size()) {
    while (at < cookie.size() && (cookie[at] == ' ' || cookie[at] == ';')) ++at;
    const size_t end = std::min(cookie.find(';', at), cookie.size());
    if (cookie.compare(at, key.size(), key) == 0) {
      return cookie.substr(at + key.size(), end - at - key.size());
    }
    at = end;
  }
  return "";
}

}  // namespace radflow::auth
