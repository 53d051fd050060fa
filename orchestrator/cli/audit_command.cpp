// radflow audit: who submitted, cancelled, retried, deleted, collected garbage and
// managed tokens, newest first (GET /api/v1/audit, admin tokens only).
#include <cstdio>
#include <string>

#include "orchestrator/cli/api_client.h"
#include "orchestrator/cli/cli_util.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/format.h"

namespace radflow::cli {

int audit(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts("usage: radflow audit [--limit N] [--before ID] [--json]\n\n"
              "The audit log, newest first: who submitted, cancelled, retried, re-ran or\n"
              "deleted runs, ran gc, and created or revoked tokens, and when (local time).\n"
              "Needs an admin token when tokens are in use. --before ID pages back;\n"
              "--json prints the API's body.");
    return kOk;
  }
  std::string limit = "50", before;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size() && !args[i + 1].empty() &&
                           args[i + 1].find_first_not_of("0123456789") == std::string::npos;
    if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--limit" && has_value) {
      limit = args[++i];
    } else if (args[i] == "--before" && has_value) {
      before = args[++i];
    } else {
      return usage_error("unexpected argument " + args[i], "audit");
    }
  }
  ApiClient client(server);
  auto reply = client.get("/api/v1/audit?limit=" + limit + (before.empty() ? "" : "&before=" + before));
  if (!reply.ok()) return report(reply.status());
  if (json) {
    std::printf("%s\n", reply->dump(2).c_str());
    return kOk;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "TIME", "ACTOR", "ROLE", "ACTION", "TARGET", "DETAILS"}};
  for (const auto& r : (*reply)["audit"]) {
    const auto& details = r["details"];
    rows.push_back({std::to_string(r.value("id", int64_t{0})), time_of_day(r.value("ts_ms", int64_t{0})),
                    r.value("actor", ""), r.value("role", "").empty() ? "-" : r.value("role", ""),
                    r.value("action", ""), r.value("target", ""),
                    details.is_object() && !details.empty() ? details.dump() : ""});
  }
  if (rows.size() == 1) {
    std::puts("the audit log is empty");
    return kOk;
  }
  std::fputs(table(rows).c_str(), stdout);
  return kOk;
}

}  // namespace radflow::cli
