// Every malformed workflow in cases/rejected/ gets HTTP 400 with the expected error
// codes at the expected JSON pointers, and leaves the database unchanged.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {
namespace fs = std::filesystem;

TEST(EndToEnd, MalformedWorkflowsAreRejectedAndNothingIsStored) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  // One accepted run first, so "unchanged" is checked against a non-empty database.
  auto [status, created] = daemon.post(
      "/api/v1/runs", R"({"name": "ok", "steps": {"a": {"plugin": "test-ok"}}})");
  ASSERT_EQ(status, 201) << created.dump();
  daemon.wait_for_run(created["id"], std::chrono::seconds(30));

  const std::string db = dirs.database();
  auto snapshot = [&] {
    return std::vector<int64_t>{sql_count(db, "SELECT COUNT(*) FROM runs"),
                                sql_count(db, "SELECT COUNT(*) FROM steps"),
                                sql_count(db, "SELECT COUNT(*) FROM attempts"),
                                sql_count(db, "SELECT COUNT(*) FROM artifacts")};
  };
  const auto before = snapshot();

  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(RADFLOW_E2E_CASES_DIR "/rejected")) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 12u);
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::ifstream in(file);
    auto test_case = nlohmann::json::parse(in);
    const std::string body = test_case.contains("workflow_text")
                                 ? test_case["workflow_text"].get<std::string>()
                                 : test_case["workflow"].dump();
    for (const char* endpoint : {"/api/v1/runs", "/api/v1/validate"}) {
      auto [code, reply] = daemon.post(endpoint, body);
      EXPECT_EQ(code, 400) << endpoint << " " << reply.dump();
      ASSERT_TRUE(reply.contains("errors")) << reply.dump();
      for (const auto& expected : test_case["expect"]) {
        bool found = false;
        for (const auto& error : reply["errors"]) {
          if (error["code"] == expected["code"] && error["path"] == expected["path"]) {
            found = true;
            if (expected.contains("message_contains")) {
              EXPECT_NE(error["message"].get<std::string>().find(
                            expected["message_contains"].get<std::string>()),
                        std::string::npos)
                  << error.dump();
            }
          }
        }
        EXPECT_TRUE(found) << "expected " << expected.dump() << " in " << reply.dump();
      }
    }
  }
  EXPECT_EQ(snapshot(), before);
}

}  // namespace
}  // namespace radflow::test
