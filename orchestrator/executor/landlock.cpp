#include "orchestrator/executor/landlock.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#if defined(__has_include)
#if __has_include(<linux/landlock.h>)
#include <linux/landlock.h>
#define RADFLOW_HAVE_LANDLOCK 1
#endif
#endif

namespace radflow {

#if defined(RADFLOW_HAVE_LANDLOCK) && defined(__NR_landlock_create_ruleset)

namespace {

// ABI 3's right; Debian 12's header stops at ABI 2. The value is kernel UAPI.
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

constexpr uint64_t kFileRights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
constexpr uint64_t kRead = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
constexpr uint64_t kReadExec = kRead | LANDLOCK_ACCESS_FS_EXECUTE;
constexpr uint64_t kReadWrite =
    kRead | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM |
    LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE;

// Every filesystem right the kernel's ABI knows: what it does not handle it allows.
uint64_t handled_rights(int abi) {
  uint64_t rights = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // ABI 1: bits 0-12
  if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
  return rights;
}

Status failed(const std::string& what) {
  return Status::error("confine_failed", "Landlock: " + what + ": " + std::strerror(errno));
}

Status add_rule(int ruleset, const std::string& path, uint64_t rights, uint64_t handled) {
  const int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return Status();  // nothing there to allow
  struct stat info {};
  if (::fstat(fd, &info) == 0 && !S_ISDIR(info.st_mode)) rights &= kFileRights;
  struct landlock_path_beneath_attr rule {};
  rule.allowed_access = rights & handled;
  rule.parent_fd = fd;
  const long rc = rule.allowed_access == 0
                      ? 0
                      : ::syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
                                  &rule, 0);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return rc == 0 ? Status() : failed("cannot allow " + path);
}

}  // namespace

int landlock_abi_version() {
  const long abi =
      ::syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

Result<ConfineResult> confine_self(const Confinement& confinement) {
  const int abi = landlock_abi_version();
  if (abi < 1) return ConfineResult::kUnsupported;
  const uint64_t handled = handled_rights(abi);
  struct landlock_ruleset_attr attr {};
  attr.handled_access_fs = handled;
  const long ruleset = ::syscall(__NR_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (ruleset < 0) return failed("cannot create a ruleset");
  const int fd = static_cast<int>(ruleset);
  Status status;
  const std::pair<const std::vector<std::string>*, uint64_t> groups[] = {
      {&confinement.read, kRead},
      {&confinement.read_exec, kReadExec},
      {&confinement.read_write, kReadWrite}};
  for (const auto& [paths, rights] : groups) {
    for (const auto& path : *paths) {
      if (status.ok()) status = add_rule(fd, path, rights, handled);
    }
  }
  if (status.ok() && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    status = failed("cannot set no_new_privs");
  }
  if (status.ok() && ::syscall(__NR_landlock_restrict_self, fd, 0) != 0) {
    status = failed("cannot restrict the worker");
  }
  ::close(fd);
  if (!status.ok()) return status;
  return ConfineResult::kConfined;
}

#else  // no <linux/landlock.h>: radflow cannot confine on this build

int landlock_abi_version() { return 0; }

Result<ConfineResult> confine_self(const Confinement&) { return ConfineResult::kUnsupported; }

#endif

std::string describe_landlock_support() {
  const int abi = landlock_abi_version();
  if (abi > 0) return "Landlock ABI " + std::to_string(abi);
#if defined(RADFLOW_HAVE_LANDLOCK)
  return "no Landlock (the kernel lacks it or it is disabled; it needs Linux 5.13+ with "
         "landlock in lsm=)";
#else
  return "no Landlock (radflow was built without <linux/landlock.h>)";
#endif
}

namespace {

// The part of system_confinement() that only depends on what this process has
// loaded and on /dev: computed once per process. A fork server computes it before
// it forks (warm_system_confinement), so its workers inherit it instead of each
// reading /proc/self/maps and listing /dev again.
const Confinement& process_confinement() {
  static const Confinement cached = [] {
    Confinement c;
    c.read_exec = {"/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc"};
    c.read = {"/proc", "/sys"};
    c.read_write = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                    "/dev/shm"};
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/dev", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("nvidia", 0) == 0) c.read_write.push_back(entry.path().string());
    }
    std::set<std::string> folders;
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);) {
      const auto slash = line.find('/');
      if (slash == std::string::npos) continue;
      const std::string file = line.substr(slash);
      if (file.find(".so") == std::string::npos || file.find(" (deleted)") != std::string::npos) {
        continue;
      }
      folders.insert(std::filesystem::path(file).parent_path().string());
    }
    c.read_exec.insert(c.read_exec.end(), folders.begin(), folders.end());
    return c;
  }();
  return cached;
}

}  // namespace

void warm_system_confinement() { (void)process_confinement(); }

Confinement system_confinement() {
  Confinement c = process_confinement();
  // Per call: a forked worker gets its own environment after the fork.
  if (const char* paths = std::getenv("LD_LIBRARY_PATH")) {
    std::set<std::string> known(c.read_exec.begin(), c.read_exec.end());
    std::stringstream list(paths);
    for (std::string dir; std::getline(list, dir, ':');) {
      if (!dir.empty() && dir.front() == '/' && known.insert(dir).second) {
        c.read_exec.push_back(dir);
      }
    }
  }
  return c;
}

}  // namespace radflow
