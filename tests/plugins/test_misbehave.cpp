// test-misbehave: misbehaves in the ways the executor and worker must survive, one
// per params.mode:
//   invalid_utf8  ill-formed bytes (\xff\xfe) on stdout, stderr, in a log message and
//                 in the failure message, and a code point split across the 64 KiB
//                 line limit; fails
//   long_line     a 200 KiB stdout line, then a short one, and a 2 MB log message
//   huge_failure  fails with a 1 MB message
//   setsid_child  double-forks a grandchild that calls setsid() and sleeps 600 s,
//                 logs "grandchild pid N" (also written to ./grandchild.pid) and
//                 returns at once
//   setsid_child_then_hang  the same, then hangs ignoring cancellation
//   setsid_child_then_die   the same, then the worker dies of SIGKILL
//   report_env    logs "report_env {json}": cwd, umask, open fds, environment, pid,
//                 process group, parent and blocked signals
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "radflow/plugin.hpp"

extern char** environ;

namespace {

constexpr size_t kLineLimit = 64 * 1024;
const std::string kBad = "\xff\xfe";
const std::string kTwoByte = "\xc3\xa9";  // é

void print_both(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

int invalid_utf8(radflow::sdk::Context& ctx) {
  print_both("bad bytes " + kBad + " here\n");
  // é starts at the last byte the line limit allows and ends past it.
  print_both(std::string(kLineLimit - 1, 'x') + kTwoByte + "tail\n");
  ctx.log_info("log with bad bytes " + kBad + " here");
  ctx.log_info(std::string(kLineLimit - 1, 'y') + kTwoByte + "tail");
  ctx.fail("failed with bad bytes " + kBad);
  return RF_RUN_FAILED;
}

int long_line(radflow::sdk::Context& ctx) {
  const std::string line = std::string(200 * 1024, 'a') + "\nafter the long line\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
  ctx.log_info("huge log: " + std::string(2 * 1024 * 1024, 'b'));
  ctx.log_info("after the huge log");
  return RF_RUN_OK;
}

int huge_failure(radflow::sdk::Context& ctx) {
  ctx.fail("huge failure: " + std::string(1024 * 1024, 'c'));
  return RF_RUN_FAILED;
}

int setsid_child(radflow::sdk::Context& ctx) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    const pid_t grandchild = fork();
    if (grandchild == 0) {
      // A daemon-style grandchild: own session, every inherited fd closed, so that no
      // pipe tells anyone it is still there.
      setsid();
      for (int fd = 0; fd < 1024; ++fd) {
        if (fd != pipe_fds[1]) close(fd);
      }
      close(pipe_fds[1]);
      for (;;) sleep(600);
    }
    (void)!write(pipe_fds[1], &grandchild, sizeof grandchild);
    _exit(0);
  }
  close(pipe_fds[1]);
  pid_t grandchild = -1;
  (void)!read(pipe_fds[0], &grandchild, sizeof grandchild);
  close(pipe_fds[0]);
  waitpid(child, nullptr, 0);
  ctx.log_info("grandchild pid " + std::to_string(grandchild));
  // Also in the attempt folder (the working directory): a log line may never leave a
  // worker that is killed at once.
  if (FILE* file = std::fopen("grandchild.pid", "w")) {
    std::fprintf(file, "%d\n", static_cast<int>(grandchild));
    std::fclose(file);
  }
  return RF_RUN_OK;
}

int setsid_child_then_hang(radflow::sdk::Context& ctx) {
  setsid_child(ctx);
  for (;;) sleep(1);
}

// The worker dies of SIGKILL (as under the OOM killer) with the grandchild running:
// nothing in the worker can stop it, so radflowd must.
int setsid_child_then_die(radflow::sdk::Context& ctx) {
  setsid_child(ctx);
  raise(SIGKILL);
  return RF_RUN_FAILED;
}

int report_env(radflow::sdk::Context& ctx) {
  nlohmann::json report;
  char cwd[PATH_MAX];
  report["cwd"] = getcwd(cwd, sizeof cwd) ? cwd : "";
  const mode_t mask = umask(0);
  umask(mask);
  report["umask"] = static_cast<int>(mask);
  nlohmann::json fds = nlohmann::json::array();
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      if (name == "." || name == ".." || std::atoi(name.c_str()) == dirfd(dir)) continue;
      char target[PATH_MAX] = {};
      (void)!readlink(("/proc/self/fd/" + name).c_str(), target, sizeof target - 1);
      fds.push_back({{"fd", std::atoi(name.c_str())}, {"target", target}});
    }
    closedir(dir);
  }
  report["fds"] = fds;
  nlohmann::json env = nlohmann::json::object();
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  report["env"] = env;
  report["pid"] = static_cast<int>(getpid());
  report["pgid"] = static_cast<int>(getpgid(0));
  report["ppid"] = static_cast<int>(getppid());
  sigset_t blocked;
  sigprocmask(SIG_SETMASK, nullptr, &blocked);
  int blocked_count = 0;
  for (int sig = 1; sig < NSIG; ++sig) blocked_count += sigismember(&blocked, sig) == 1;
  report["blocked_signals"] = blocked_count;
  ctx.log_info("report_env " + report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return RF_RUN_OK;
}

int run(radflow::sdk::Context& ctx) {
  const std::string mode = ctx.param<std::string>("mode");
  if (mode == "invalid_utf8") return invalid_utf8(ctx);
  if (mode == "long_line") return long_line(ctx);
  if (mode == "huge_failure") return huge_failure(ctx);
  if (mode == "setsid_child") return setsid_child(ctx);
  if (mode == "setsid_child_then_hang") return setsid_child_then_hang(ctx);
  if (mode == "setsid_child_then_die") return setsid_child_then_die(ctx);
  if (mode == "report_env") return report_env(ctx);
  ctx.fail("unknown mode " + mode);
  return RF_RUN_FAILED;
}

}  // namespace

RADFLOW_PLUGIN("test-misbehave", "1.0.0", "Test plugin that misbehaves as params.mode says.",
               R"({"type":"object","properties":{"mode":{"type":"string","enum":
                   ["invalid_utf8","long_line","huge_failure","setsid_child",
                    "setsid_child_then_hang","setsid_child_then_die","report_env"]}},
                   "required":["mode"]})",
               "[]", "[]", run)
