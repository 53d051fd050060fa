// WorkerProcess: one radflow-worker child for tests, started with fork/exec, with a
// pipe on its fd 3 (the events channel) and its stdout captured. Owns the child:
// the destructor SIGKILLs and reaps it if the test did not. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace radflow::test {

class WorkerProcess {
 public:
  WorkerProcess(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});
  ~WorkerProcess();

  // Reads events until one satisfies `match` (true) or the pipe closes (false).
  bool read_until(const std::function<bool(const nlohmann::json&)>& match);
  // Reads every remaining event until the worker closes the pipe.
  void read_all();
  // Closes our end of the events pipe, as a daemon that died would.
  void close_events();
  // Waits for exit and returns the raw waitpid status.
  int wait();
  bool running();  // without blocking
  void signal(int sig);

  const std::vector<nlohmann::json>& events() const { return events_; }
  const std::vector<std::string>& raw_lines() const { return lines_; }
  std::string read_stdout();
  // The "end" event, or null if there is none.
  nlohmann::json end_event() const;

 private:
  bool read_line(std::string* line);

  pid_t pid_ = -1;
  int events_fd_ = -1;
  int stdout_fd_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string pending_;
  std::vector<std::string> lines_;
  std::vector<nlohmann::json> events_;
};

}  // namespace radflow::test
