// Auth: who may call which route of radflowd's API, decided by pure functions
// (no server, no database) so that every rule is tested as data without a daemon.
//
//   route_table()      every route with the least role it needs; the server and
//                      the tests read this one table
//   check_host()       DNS rebinding: the Host header must name this server
//   check_cross_site() CSRF: state-changing requests must be JSON and same-origin
//   check_role()       401 without a valid token, 403 with a too-weak role
//   check_owner()      a submitter acts only on its own runs
//
// Tokens are "rf_" + 64 hex digits (32 random bytes); only their sha256 is stored
// (storage::TokenRecord::hash) and a presented token is compared with every
// active hash in constant time. Stateless and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/records.h"

namespace radflow::auth {

// Ordered: a role may do what every weaker role may. kAttempt is no user's role: a
// route that needs it takes only a running attempt's own token (a remote worker's
// events, executor/remote_attempt_events.h), which the route itself checks; every
// user token, admin's included, is refused there (403), and no other route accepts
// an attempt token (401: it is no user token).
enum class Role { kPublic = 0, kViewer = 1, kSubmitter = 2, kAdmin = 3, kAttempt = 4 };

// "viewer", "submitter", "admin" (kPublic is "public").
const char* role_name(Role role);
// The role a token may hold; nullopt for anything else (kPublic included).
std::optional<Role> token_role(std::string_view name);

enum class Ownership {
  kAny,      // the role is enough
  kOwnRuns,  // a submitter only on runs it submitted (run id: the path's first number)
};

struct RouteRule {
  const char* method;   // GET, POST or DELETE
  const char* pattern;  // the path as registered (ECMAScript regex)
  const char* example;  // a path the pattern matches, for tests and docs
  Role role;            // the least role that may call it
  Ownership ownership;
};

// Every route of the API (docs/api.md), in the order docs/api.md lists them.
const std::vector<RouteRule>& route_table();
// The rule whose method and pattern match, or null (cpp-httplib answers 404).
const RouteRule* find_route(const std::string& method, const std::string& path);
// POST and DELETE change state; they get the cross-site checks.
bool is_state_changing(const std::string& method);

// Who is calling. Without authentication (no token exists) every caller is
// anonymous with every right; `name` is then what the client said (X-Radflow-User).
struct Caller {
  bool authenticated = false;
  std::string name;
  Role role = Role::kAdmin;
};

// A refusal: an HTTP status and the one error; status 0 allows the request.
struct Decision {
  int http_status = 0;
  Error error;
  bool allowed() const { return http_status == 0; }
};

// The request headers the checks read (empty string: header absent).
struct RequestFacts {
  std::string method;
  std::string path;
  std::string host;            // Host
  std::string origin;          // Origin
  std::string sec_fetch_site;  // Sec-Fetch-Site
  std::string content_type;    // Content-Type
  bool has_body = false;       // a non-zero Content-Length or a chunked body
};

// The names this server answers to: 127.0.0.1, localhost, ::1 and `extra`.
std::vector<std::string> allowed_hosts(const std::vector<std::string>& extra);
// The host part of a Host header or an Origin's authority ("[::1]:80" -> "::1").
std::string host_without_port(std::string_view authority);

// 421 when the Host header is missing or names a host not in `allowed`.
Decision check_host(const RequestFacts& request, const std::vector<std::string>& allowed);
// For POST and DELETE: 403 when Sec-Fetch-Site is cross-site, when an Origin is
// present and is not this server (scheme-less comparison of host:port with the
// Host header), or when the content type is not application/json (a request with
// neither body nor Content-Type passes: a browser form always sends one).
Decision check_cross_site(const RequestFacts& request);
// With `auth_enabled`: public routes pass; no credential is 401 unauthenticated,
// an unknown or revoked one 401 invalid_token, a weaker role than the route's
// 403 forbidden. Without: everything passes.
Decision check_role(const RouteRule& rule, bool auth_enabled, bool credential_presented,
                    const std::optional<Caller>& caller, const std::string& route_name);
// 403 not_owner when a submitter acts on a run someone else submitted.
Decision check_owner(const RouteRule& rule, const Caller& caller, int64_t run_id,
                     const std::string& submitted_by);

// ---- tokens ----
// A new random token, "rf_" + 64 hex digits (getrandom). Fails only when the
// kernel has no randomness to give.
Result<std::string> new_token();
// The stored form of a token: lower-case hex sha256.
std::string token_hash(std::string_view token);
// The active token whose hash matches `presented`, compared in constant time
// against every one; nullopt when none does.
std::optional<storage::TokenRecord> match_token(std::string_view presented,
                                                const std::vector<storage::TokenRecord>& active);
// The credential of a request: "Authorization: Bearer T" first, else the
// radflow_token cookie; "" when neither.
std::string presented_token(const std::string& authorization, const std::string& cookie);

constexpr const char* kSessionCookie = "radflow_token";

}  // namespace radflow::auth
