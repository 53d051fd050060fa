// `radflowd token create|list|revoke`: manages API tokens in the database of a
// data folder, whether or not a radflowd serves it (SQLite's locks order the two
// writers; the daemon reads tokens per request, so changes apply at once).
// Creation prints the token once on stdout; only its sha256 is stored. Each change
// is written to the audit log with the local user as actor.
#pragma once

namespace radflow {

// argv[0] is "token". Returns the process exit code: 0 ok, 1 failed, 2 usage.
int run_token_command(int argc, char** argv);

}  // namespace radflow
