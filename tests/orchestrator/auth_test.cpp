// auth.h as data, no server: the role x route table, Host and cross-site checks,
// ownership, and tokens (format, hashing, matching, where they are read from).
#include "orchestrator/api/auth.h"

#include <gtest/gtest.h>

#include <set>

namespace radflow::auth {
namespace {

const std::vector<std::optional<Role>> kCallers = {std::nullopt, Role::kViewer, Role::kSubmitter,
                                                   Role::kAdmin};

TEST(Auth, EveryRouteOfTheTableFindsItself) {
  std::set<std::string> seen;
  for (const auto& rule : route_table()) {
    const RouteRule* found = find_route(rule.method, rule.example);
    ASSERT_NE(found, nullptr) << rule.method << " " << rule.example;
    EXPECT_EQ(found, &rule) << rule.method << " " << rule.example << " matched another rule";
    EXPECT_TRUE(seen.insert(std::string(rule.method) + " " + rule.pattern).second)
        << "listed twice: " << rule.method << " " << rule.pattern;
  }
  EXPECT_EQ(find_route("POST", "/api/v1/nothing"), nullptr);
  EXPECT_EQ(find_route("HEAD", "/api/v1/runs"), find_route("GET", "/api/v1/runs"));
  EXPECT_EQ(find_route("GET", "/api/v1/runs/3/steps/fit/logs")->role, Role::kViewer);
  EXPECT_EQ(find_route("DELETE", "/api/v1/runs/3")->ownership, Ownership::kOwnRuns);
}

// Every route x every caller: 401 without a token, 403 with a weaker role, allowed
// with its role or a stronger one; with authentication off, always allowed.
TEST(Auth, RoleByRouteTable) {
  for (const auto& rule : route_table()) {
    for (const auto& role : kCallers) {
      std::optional<Caller> caller;
      if (role) caller = Caller{true, "someone", *role};
      const std::string name = std::string(rule.method) + " " + rule.example;
      Decision d = check_role(rule, true, role.has_value(), caller, name);
      int expected = 0;
      if (rule.role != Role::kPublic) {
        if (!role) expected = 401;
        else if (*role < rule.role) expected = 403;
      }
      EXPECT_EQ(d.http_status, expected)
          << name << " as " << (role ? role_name(*role) : "nobody") << ": " << d.error.message;
      if (expected == 403) {
        EXPECT_EQ(d.error.code, "forbidden");
        EXPECT_NE(d.error.message.find(role_name(rule.role)), std::string::npos);
      }
      if (expected == 401) {
        EXPECT_NE(d.error.message.find("radflowd token create"), std::string::npos);
      }
      EXPECT_TRUE(check_role(rule, false, false, std::nullopt, name).allowed()) << name;
    }
  }
}

TEST(Auth, InvalidTokenIs401) {
  const RouteRule& rule = *find_route("GET", "/api/v1/runs");
  Decision d = check_role(rule, true, true, std::nullopt, "GET /api/v1/runs");
  EXPECT_EQ(d.http_status, 401);
  EXPECT_EQ(d.error.code, "invalid_token");
}

TEST(Auth, SubmitterActsOnlyOnItsOwnRuns) {
  const RouteRule& cancel = *find_route("POST", "/api/v1/runs/4/cancel");
  const RouteRule& show = *find_route("GET", "/api/v1/runs/4");
  Caller alice{true, "alice", Role::kSubmitter};
  Caller admin{true, "root", Role::kAdmin};
  EXPECT_TRUE(check_owner(cancel, alice, 4, "alice").allowed());
  Decision d = check_owner(cancel, alice, 4, "bob");
  EXPECT_EQ(d.http_status, 403);
  EXPECT_EQ(d.error.code, "not_owner");
  EXPECT_NE(d.error.message.find("bob"), std::string::npos);
  EXPECT_TRUE(check_owner(cancel, admin, 4, "bob").allowed());
  EXPECT_TRUE(check_owner(show, alice, 4, "bob").allowed());
}

TEST(Auth, HostAllowlist) {
  const auto allowed = allowed_hosts({"Radflow.Example.org"});
  for (const char* host : {"127.0.0.1:8080", "localhost", "LOCALHOST:1", "[::1]:8080",
                           "radflow.example.org:443"}) {
    RequestFacts r;
    r.host = host;
    EXPECT_TRUE(check_host(r, allowed).allowed()) << host;
  }
  for (const char* host : {"", "evil.example", "127.0.0.1.evil.example:8080", "[::2]:80"}) {
    RequestFacts r;
    r.host = host;
    Decision d = check_host(r, allowed);
    EXPECT_EQ(d.http_status, 421) << host;
    EXPECT_NE(d.error.message.find("--allowed-host"), std::string::npos);
  }
  EXPECT_EQ(host_without_port("[::1]:80"), "::1");
  EXPECT_EQ(host_without_port("::1"), "::1");
  EXPECT_EQ(host_without_port("a.b:9"), "a.b");
}

struct CrossSiteCase {
  const char* method;
  const char* origin;
  const char* fetch_site;
  const char* content_type;
  bool has_body;
  int expected;
};

TEST(Auth, CrossSiteChecks) {
  const CrossSiteCase cases[] = {
      {"POST", "", "", "application/json", true, 0},
      {"POST", "", "", "Application/JSON; charset=utf-8", true, 0},
      {"POST", "http://127.0.0.1:8080", "same-origin", "application/json", true, 0},
      {"POST", "", "", "", false, 0},  // no body, no type: not a form
      {"DELETE", "", "", "", false, 0},
      {"POST", "", "", "text/plain", true, 403},
      {"POST", "", "", "text/plain", false, 403},
      {"POST", "", "", "application/x-www-form-urlencoded", false, 403},
      {"POST", "", "", "multipart/form-data; boundary=x", true, 403},
      {"POST", "", "", "", true, 403},
      {"POST", "", "", "application/jsonx", true, 403},
      {"DELETE", "", "", "text/plain", false, 403},
      {"POST", "http://evil.example", "", "application/json", true, 403},
      {"POST", "http://127.0.0.1:9999", "", "application/json", true, 403},
      {"POST", "null", "", "application/json", true, 403},
      {"POST", "", "cross-site", "application/json", true, 403},
      {"DELETE", "https://evil.example", "cross-site", "", false, 403},
      {"GET", "http://evil.example", "cross-site", "text/plain", false, 0},  // reads pass
  };
  for (const auto& c : cases) {
    RequestFacts r;
    r.method = c.method;
    r.path = "/api/v1/runs/1/cancel";
    r.host = "127.0.0.1:8080";
    r.origin = c.origin;
    r.sec_fetch_site = c.fetch_site;
    r.content_type = c.content_type;
    r.has_body = c.has_body;
    EXPECT_EQ(check_cross_site(r).http_status, c.expected)
        << c.method << " origin=" << c.origin << " site=" << c.fetch_site
        << " type=" << c.content_type;
  }
}

TEST(Auth, TokensAreRandomAndOnlyTheirHashMatches) {
  auto a = new_token();
  auto b = new_token();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 3u + 64u);
  EXPECT_EQ(a->rfind("rf_", 0), 0u);
  EXPECT_NE(*a, *b);
  std::vector<storage::TokenRecord> active(2);
  active[0].name = "alice";
  active[0].role = "viewer";
  active[0].hash = token_hash(*a);
  active[1].name = "bob";
  active[1].role = "admin";
  active[1].hash = token_hash(*b);
  EXPECT_EQ(active[0].hash.size(), 64u);
  EXPECT_EQ(active[0].hash.find(a->substr(3)), std::string::npos);
  EXPECT_EQ(match_token(*b, active)->name, "bob");
  EXPECT_EQ(match_token(*a, active)->name, "alice");
  EXPECT_FALSE(match_token("rf_00", active));
  EXPECT_FALSE(match_token(active[0].hash, active));  // the hash is not a token
}

TEST(Auth, PresentedTokenFromBearerOrCookie) {
  EXPECT_EQ(presented_token("Bearer rf_abc", ""), "rf_abc");
  EXPECT_EQ(presented_token("bearer rf_abc ", "radflow_token=rf_x"), "rf_abc");
  EXPECT_EQ(presented_token("", "a=1; radflow_token=rf_x; b=2"), "rf_x");
  EXPECT_EQ(presented_token("", "other_radflow_token=rf_x"), "");
  EXPECT_EQ(presented_token("Basic abc", ""), "");
}

}  // namespace
}  // namespace radflow::auth
