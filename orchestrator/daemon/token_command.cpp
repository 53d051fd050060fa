#include "orchestrator/daemon/token_command.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <ctime>
#include <string>
#include <vector>

#include "orchestrator/api/auth.h"
#include "orchestrator/daemon/daemon_options.h"
#include "storage/store.h"

namespace radflow {

namespace {

constexpr const char* kUsage = R"(usage: radflowd token create NAME --role viewer|submitter|admin [--data-dir DIR | --config FILE]
       radflowd token list [--data-dir DIR | --config FILE]
       radflowd token revoke NAME [--data-dir DIR | --config FILE]

API tokens of the radflowd serving DIR (default ./var; with --config, the file's
data_dir, e.g. --config /etc/radflow/radflowd.json). `create` prints the new
token once: give it to its holder, who sets RADFLOW_TOKEN (CLI) or signs in on the
dashboard. Only its sha256 is stored. Roles:
  viewer     read runs, logs, metrics, artifacts, plugins
  submitter  viewer + submit runs; cancel, retry, re-run and delete its own runs
  admin      everything: other users' runs, gc, the audit log
Runs a token submits carry its NAME as submitted_by. Every change is audited.
While at least one token exists, every API route needs one (SECURITY.md).
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "radflowd token: %s (see radflowd token --help)\n", message.c_str());
  return 2;
}

int failed(const Status& status) {
  std::fprintf(stderr, "radflowd token: %s\n", status.message().c_str());
  return 1;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                    c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

std::string local_actor() {
  const char* user = std::getenv("USER");
  return std::string("local:") + (user != nullptr && *user ? user : "uid") + "(uid " +
         std::to_string(getuid()) + ")";
}

std::string format_time(int64_t ms) {
  if (ms == 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%SZ", &utc);
  return text;
}

void audit(storage::Store& store, const std::string& action, const std::string& name,
           const std::string& details_json) {
  storage::AuditRecord record;
  record.actor = local_actor();
  record.action = action;
  record.target = "token " + name;
  record.details_json = details_json;
  if (Status s = store.append_audit(record); !s.ok()) {
    std::fprintf(stderr, "radflowd token: warning: not audited: %s\n", s.message().c_str());
  }
}

bool data_dir_flag_absent(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--data-dir") return false;
  }
  return true;
}

}  // namespace

int run_token_command(int argc, char** argv) {
  std::vector<std::string> positional;
  std::string data_dir = "var";
  std::string role;
  std::string config;  // radflowd's config file: its data_dir, unless --data-dir is given
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--data-dir" || a == "--role" || a == "--config") {
      if (i + 1 >= argc) return usage_error(a + " needs a value");
      (a == "--role" ? role : a == "--config" ? config : data_dir) = argv[++i];
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (!config.empty() && data_dir_flag_absent(argc, argv)) {
    std::ifstream in(config, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    DaemonOptions from_file;
    Status read = in ? apply_daemon_config(text.str(), config, &from_file)
                     : Status::error("bad_option", "cannot read the config file " + config);
    if (!read.ok()) return usage_error(read.message());
    data_dir = from_file.data_dir;
  }
  if (positional.empty()) return usage_error("give a subcommand: create, list or revoke");
  const std::string sub = positional[0];
  const size_t wanted = sub == "list" ? 1 : 2;
  if (sub != "create" && sub != "list" && sub != "revoke") {
    return usage_error("unknown subcommand " + sub + "; use create, list or revoke");
  }
  if (positional.size() != wanted) {
    return usage_error(sub == "list" ? "list takes no NAME" : sub + " takes one NAME");
  }
  if (sub == "create" && !auth::token_role(role)) {
    return usage_error("create needs --role viewer, submitter or admin" +
                       (role.empty() ? std::string() : ", got " + role));
  }
  if (wanted == 2 && !valid_name(positional[1])) {
    return usage_error("NAME must be 1 to 64 letters, digits, '.', '_', '-' or '@'");
  }

  auto store = storage::Store::open(data_dir);
  if (!store.ok()) return failed(store.status());

  if (sub == "list") {
    auto tokens = (*store)->list_tokens();
    if (!tokens.ok()) return failed(tokens.status());
    if (tokens->empty()) {
      std::printf("no tokens: the API of %s is open to whoever can connect (loopback only)\n",
                  data_dir.c_str());
      return 0;
    }
    std::printf("%-24s %-10s %-21s %s\n", "NAME", "ROLE", "CREATED", "REVOKED");
    for (const auto& t : *tokens) {
      std::printf("%-24s %-10s %-21s %s\n", t.name.c_str(), t.role.c_str(),
                  format_time(t.created_ms).c_str(), format_time(t.revoked_ms).c_str());
    }
    return 0;
  }
  const std::string& name = positional[1];
  if (sub == "revoke") {
    if (Status s = (*store)->revoke_token(name); !s.ok()) return failed(s);
    audit(**store, "token_revoke", name, "{}");
    std::fprintf(stderr, "token %s revoked\n", name.c_str());
    return 0;
  }
  auto token = auth::new_token();
  if (!token.ok()) return failed(token.status());
  storage::TokenRecord record;
  record.name = name;
  record.role = role;
  record.hash = auth::token_hash(*token);
  auto id = (*store)->create_token(record);
  if (!id.ok()) return failed(id.status());
  audit(**store, "token_create", name, "{\"role\":\"" + role + "\"}");
  std::fprintf(stderr,
               "token %s (%s) created; it is shown once, here: keep it secret, e.g.\n"
               "  export RADFLOW_TOKEN=<the line below>\n",
               name.c_str(), role.c_str());
  std::printf("%s\n", token->c_str());
  return 0;
}

}  // namespace radflow
