#include "tests/slurm/local_slurm.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "orchestrator/executor/process.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMunged = "/usr/sbin/munged";
constexpr const char* kMungekey = "/usr/sbin/mungekey";
constexpr const char* kSlurmctld = "/usr/sbin/slurmctld";
constexpr const char* kSlurmd = "/usr/sbin/slurmd";

std::string host_name() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  std::string text = name;
  return text.substr(0, text.find('.'));
}

// Starts `argv` in the foreground with stdout and stderr appended to `log`, in a
// process group of its own, as `user` when given (munged refuses to run as root).
pid_t spawn_daemon(const std::vector<std::string>& argv, const std::string& log,
                   const passwd* user) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  setpgid(0, 0);
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, 0);
  if (user != nullptr &&
      (setgroups(0, nullptr) != 0 || setgid(user->pw_gid) != 0 || setuid(user->pw_uid) != 0)) {
    _exit(126);
  }
  // A test killed by ctest's timeout runs no destructor: its cluster dies with it.
  // After setuid, which clears the setting.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

std::unique_ptr<LocalSlurm> LocalSlurm::start(std::string* why_not) {
  if (geteuid() != 0) {
    *why_not = "a local Slurm needs root (slurmd starts jobs as their submitting user); "
               "run the tests as root to include the Slurm executor";
    return nullptr;
  }
  for (const char* binary : {kMunged, kMungekey, kSlurmctld, kSlurmd}) {
    if (access(binary, X_OK) != 0) {
      *why_not = std::string(binary) +
                 " is missing: install Debian's slurm-wlm and munge (scripts/install-deps.sh)";
      return nullptr;
    }
  }
  if (getpwnam("munge") == nullptr) {
    *why_not = "user munge does not exist: install Debian's munge package";
    return nullptr;
  }
  std::unique_ptr<LocalSlurm> slurm(new LocalSlurm());
  if (!slurm->launch(why_not)) return nullptr;
  return slurm;
}

bool LocalSlurm::launch(std::string* why_not) {
  std::string pattern = (fs::temp_directory_path() / "radflow-slurm-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    *why_not = "cannot create a temporary folder for Slurm";
    return false;
  }
  dir_ = pattern;
  // munged refuses sockets and keys in folders that others may write to, and slurmd
  // runs jobs as their user: the folder is world-readable, writable by root only.
  chmod(dir_.c_str(), 0755);
  const fs::path dir(dir_);
  for (const char* sub : {"munge", "state", "spool", "gres"}) fs::create_directories(dir / sub);
  const passwd* munge = getpwnam("munge");
  chown((dir / "munge").c_str(), munge->pw_uid, munge->pw_gid);
  const std::string key = (dir / "munge" / "munge.key").string();
  if (run({kMungekey, "--create", "--keyfile", key}).exit_code != 0) {
    *why_not = "mungekey --create failed";
    return false;
  }
  chown(key.c_str(), munge->pw_uid, munge->pw_gid);
  chmod(key.c_str(), 0600);
  write_file(dir / "gres" / "gpu0", "");
  write_file(dir / "gres" / "gpu1", "");

  node_ = host_name();
  auto ctld_port = find_free_loopback_port();
  auto slurmd_port = find_free_loopback_port();
  if (!ctld_port.ok() || !slurmd_port.ok()) {
    *why_not = "no free port for slurmctld and slurmd";
    return false;
  }
  const std::string socket = (dir / "munge" / "munge.socket").string();
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  std::ostringstream conf;
  conf << "ClusterName=rf" << getpid() << "x" << *ctld_port << "\n"
       << "SlurmctldHost=" << node_ << "(127.0.0.1)\n"
       << "SlurmctldPort=" << *ctld_port << "\nSlurmdPort=" << *slurmd_port << "\n"
       << "SlurmUser=root\nSlurmdUser=root\n"
       << "AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket=" << socket << "\n"
       << "StateSaveLocation=" << (dir / "state").string() << "\n"
       << "SlurmdSpoolDir=" << (dir / "spool").string() << "\n"
       << "SlurmctldPidFile=" << (dir / "slurmctld.pid").string() << "\n"
       << "SlurmdPidFile=" << (dir / "slurmd.pid").string() << "\n"
       << "SlurmctldLogFile=" << (dir / "slurmctld.log").string() << "\n"
       << "SlurmdLogFile=" << (dir / "slurmd.log").string() << "\n"
       << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
       << "SelectType=select/cons_tres\nSelectTypeParameters=CR_Core_Memory\n"
       << "GresTypes=gpu\nMpiDefault=none\nReturnToService=2\nJobCompType=jobcomp/none\n"
       // Quick kills keep cancel tests short; ended jobs stay listed for 300 s.
       << "KillWait=2\nMinJobAge=300\n"
       << "NodeName=" << node_ << " NodeAddr=127.0.0.1 CPUs=" << cpus
       << " RealMemory=2048 Gres=gpu:fake:2 State=UNKNOWN\n"
       << "PartitionName=" << partition_ << " Nodes=" << node_
       << " Default=YES MaxTime=INFINITE State=UP\n";
  write_file(dir / "slurm.conf", conf.str());
  write_file(dir / "gres.conf", "NodeName=" + node_ + " Name=gpu Type=fake File=" +
                                    (dir / "gres").string() + "/gpu[0-1]\n");

  daemons_.push_back(spawn_daemon({kMunged, "--foreground", "--socket=" + socket,
                                   "--key-file=" + key,
                                   "--pid-file=" + (dir / "munge" / "munged.pid").string(),
                                   "--log-file=" + (dir / "munge" / "munged.log").string(),
                                   "--seed-file=" + (dir / "munge" / "munged.seed").string()},
                                  (dir / "munged.out").string(), munge));
  for (int i = 0; i < 100 && !fs::exists(socket); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!fs::exists(socket)) {
    *why_not = "munged did not start:" + log_tail("munge/munged.log") + log_tail("munged.out");
    return false;
  }
  const std::string conf_file = conf_path();
  daemons_.push_back(spawn_daemon({kSlurmctld, "-D", "-f", conf_file},
                                  (dir / "slurmctld.out").string(), nullptr));
  daemons_.push_back(spawn_daemon({kSlurmd, "-D", "-f", conf_file},
                                  (dir / "slurmd.out").string(), nullptr));
  return wait_until_idle(30, why_not);
}

bool LocalSlurm::wait_until_idle(double timeout_s, std::string* why_not) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  std::string state;
  while (std::chrono::steady_clock::now() < deadline) {
    CommandResult sinfo = run({"sinfo", "--noheader", "--format=%T"});
    state = sinfo.out.substr(0, sinfo.out.find('\n'));
    if (sinfo.exit_code == 0 && state == "idle") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  *why_not = "the local Slurm node did not become idle within " +
             std::to_string(static_cast<int>(timeout_s)) + " s (last state '" + state +
             "'):" + log_tail("slurmctld.log") + log_tail("slurmd.log") +
             log_tail("slurmctld.out") + log_tail("slurmd.out");
  return false;
}

LocalSlurm::~LocalSlurm() {
  if (!daemons_.empty()) run({"scancel", "--full", "--quiet", "--partition=" + partition_});
  for (auto it = daemons_.rbegin(); it != daemons_.rend(); ++it) {
    if (*it > 0) kill(*it, SIGTERM);
  }
  for (auto it = daemons_.rbegin(); it != daemons_.rend(); ++it) {
    if (*it <= 0) continue;
    int status = 0;
    for (int i = 0; i < 100 && waitpid(*it, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (waitpid(*it, &status, WNOHANG) == 0) {
      kill(-*it, SIGKILL);
      waitpid(*it, &status, 0);
    }
  }
  if (dir_.empty()) return;
  if (std::getenv("RADFLOW_TEST_KEEP") != nullptr) {
    std::cerr << "LocalSlurm: kept " << dir_ << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

LocalSlurm::CommandResult LocalSlurm::run(const std::vector<std::string>& argv) const {
  ProcessSpec spec;
  spec.argv = argv;
  if (spec.argv[0].find('/') == std::string::npos) {
    for (const char* prefix : {"/usr/bin/", "/usr/sbin/", "/bin/"}) {
      if (access((prefix + argv[0]).c_str(), X_OK) == 0) {
        spec.argv[0] = prefix + argv[0];
        break;
      }
    }
  }
  if (!dir_.empty()) spec.env_set = env();
  CommandResult result;
  auto captured = run_captured(spec, 30);
  if (!captured.ok()) {
    result.err = captured.status().message();
    return result;
  }
  result.exit_code = captured->exit.signal != 0 ? 128 + captured->exit.signal
                                                 : captured->exit.exit_code;
  result.out = captured->out;
  result.err = captured->err;
  return result;
}

std::vector<std::string> LocalSlurm::active_jobs() const {
  CommandResult squeue = run({"squeue", "--noheader", "--format=%i",
                              "--states=PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING"});
  std::vector<std::string> ids;
  std::istringstream lines(squeue.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) ids.push_back(line);
  }
  return ids;
}

std::string LocalSlurm::wait_for_job_state(const std::string& job_id,
                                           const std::vector<std::string>& states,
                                           double timeout_s) const {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  std::string state;
  do {
    CommandResult squeue =
        run({"squeue", "--noheader", "--states=all", "--format=%T", "--jobs=" + job_id});
    state = squeue.exit_code == 0 ? squeue.out.substr(0, squeue.out.find('\n')) : "";
    for (const auto& wanted : states) {
      if (state == wanted) return state;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  return state;
}

std::string LocalSlurm::log_tail(const std::string& file) const {
  std::ifstream in(fs::path(dir_) / file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string tail = "\n  [" + file + "]";
  for (size_t i = lines.size() > 8 ? lines.size() - 8 : 0; i < lines.size(); ++i) {
    tail += "\n  " + lines[i];
  }
  return tail;
}

}  // namespace radflow::test
