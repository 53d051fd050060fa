// Tokens (hash only, unique names, revocation) and the audit log (newest first, paged).
#include <gtest/gtest.h>

#include "storage/store.h"
#include "tests/storage/temp_dir.h"

namespace radflow::storage {
namespace {

using testing::TempDir;

TokenRecord token(const std::string &name, const std::string &role, const std::string &hash) {
  TokenRecord t;
  t.name = name;
  t.role = role;
  t.hash = hash;
  return t;
}

TEST(StoreSecurity, TokensAreCreatedListedAndRevoked) {
  TempDir dir;
  auto store = Store::open(dir.sub("data"));
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  ASSERT_TRUE((*store)->create_token(token("alice", "viewer", std::string(64, 'a'))).ok());
  ASSERT_TRUE((*store)->create_token(token("bob", "admin", std::string(64, 'b'))).ok());
  auto taken = (*store)->create_token(token("alice", "admin", std::string(64, 'c')));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().code(), "conflict");
  auto bad_role = (*store)->create_token(token("carol", "root", std::string(64, 'd')));
  EXPECT_FALSE(bad_role.ok());  // the schema's CHECK

  ASSERT_TRUE((*store)->revoke_token("alice").ok());
  EXPECT_EQ((*store)->revoke_token("alice").code(), "not_found");
  EXPECT_EQ((*store)->revoke_token("nobody").code(), "not_found");
  auto all = (*store)->list_tokens();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "alice");
  EXPECT_GT((*all)[0].revoked_ms, 0);
  EXPECT_GT((*all)[0].created_ms, 0);
  auto active = (*store)->active_tokens();
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].name, "bob");
  EXPECT_EQ((*active)[0].role, "admin");
  EXPECT_EQ((*active)[0].hash, std::string(64, 'b'));
}

TEST(StoreSecurity, AuditLogIsNewestFirstAndPaged) {
  TempDir dir;
  auto store = Store::open(dir.sub("data"));
  ASSERT_TRUE(store.ok());
  for (int i = 1; i <= 5; ++i) {
    AuditRecord r;
    r.actor = "alice";
    r.role = "submitter";
    r.action = "submit";
    r.target = "run " + std::to_string(i);
    r.details_json = "{\"n\":" + std::to_string(i) + "}";
    ASSERT_TRUE((*store)->append_audit(r).ok());
  }
  auto page = (*store)->list_audit(2, 0);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].target, "run 5");
  EXPECT_EQ((*page)[1].target, "run 4");
  EXPECT_GT((*page)[0].ts_ms, 0);
  auto next = (*store)->list_audit(10, (*page)[1].id);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 3u);
  EXPECT_EQ((*next)[0].target, "run 3");
  EXPECT_EQ((*next)[2].details_json, "{\"n\":1}");
}

}  // namespace
}  // namespace radflow::storage
