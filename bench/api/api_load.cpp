// bench_api_load: the load generator of bench/api (README.md there), one binary for
// both sides so that they are timed the same way.
//
//   bench_api_load CONFIG.json
// CONFIG: {"clients": 16, "warmup": 32,
//          "http": "127.0.0.1:PORT", "daemon_pid": PID   (radflowd's side), or
//          "db": "/path/radflow.db"                      (SQLite straight, the peer),
//          "kinds": [{"name": "run list", "requests": [REQUEST, ...]}, ...]}
// A REQUEST is a URL path (http) or a list of [SQL, [params...]] statements run one
// after another, every row stepped and every column read as text (db), each statement
// prepared once per connection and reused (as radflowd's statement cache does). Each kind in
// turn: `clients` threads, each with its own keep-alive connection (or its own
// read-only SQLite connection), take the requests in order from a shared counter;
// the first `warmup` are not timed. A kind with "keep_alive": false makes a new HTTP
// connection for every request (what curl does; the daemon's answer on a kept-alive
// connection can wait for the client's delayed ACK). Prints one JSON object: per kind the request
// count, p50, p99 and max in milliseconds, requests/s, and the CPU time the serving side spent
// per request: radflowd's (user + system, from /proc/PID/stat) or, for SQLite, this process's.
// Latencies under 16 clients on 2 cores are mostly queueing, and how the kernel schedules the
// threads sets them (in-process SQLite threads run many requests back to back in one time
// slice); the CPU per request is the cost of the work itself.
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

[[noreturn]] void die(const std::string& what) {
  std::cerr << "bench_api_load: " << what << "\n";
  std::exit(1);
}

// One client's connection: an HTTP keep-alive client or a read-only SQLite handle.
class Connection {
 public:
  explicit Connection(const json& config) {
    if (config.contains("http")) {
      const std::string hostport = config["http"];
      const size_t colon = hostport.rfind(':');
      http_ = std::make_unique<httplib::Client>(hostport.substr(0, colon),
                                                std::stoi(hostport.substr(colon + 1)));
      http_->set_read_timeout(60, 0);
    } else {
      const std::string path = config["db"];
      if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
        die("cannot open " + path);
      }
    }
  }
  ~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    if (db_) sqlite3_close(db_);
  }

  // Returns the bytes of the answer, so that nothing is optimised away.
  size_t run(const json& request, bool keep_alive) {
    if (http_) {
      http_->set_keep_alive(keep_alive);
      auto res = http_->Get(request.get<std::string>());
      if (!res || res->status != 200) die("GET " + request.get<std::string>() + " failed");
      return res->body.size();
    }
    size_t bytes = 0;
    for (const json& statement : request) {
      sqlite3_stmt* stmt = prepared(statement[0]);
      int i = 1;  // parameters: null, integer or text
      for (const json& p : statement[1]) {
        if (p.is_null()) {
          sqlite3_bind_null(stmt, i++);
        } else if (p.is_number_integer()) {
          sqlite3_bind_int64(stmt, i++, p.get<int64_t>());
        } else {
          const std::string text = p;
          sqlite3_bind_text(stmt, i++, text.c_str(), -1, SQLITE_TRANSIENT);
        }
      }
      int rc;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
          sqlite3_column_text(stmt, c);
          bytes += static_cast<size_t>(sqlite3_column_bytes(stmt, c));
        }
      }
      if (rc != SQLITE_DONE) die(statement[0].get<std::string>() + ": " + sqlite3_errmsg(db_));
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
    }
    return bytes;
  }

 private:
  // Prepared once per connection and reused, as radflowd's Database caches them.
  sqlite3_stmt* prepared(const std::string& sql) {
    auto found = statements_.find(sql);
    if (found != statements_.end()) return found->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      die(sql + ": " + sqlite3_errmsg(db_));
    }
    return statements_[sql] = stmt;
  }

  std::unique_ptr<httplib::Client> http_;
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*> statements_;
};

// CPU seconds (user + system) that the serving side has used so far: process `pid`
// (radflowd), or this process when pid is 0 (SQLite straight).
double serving_cpu_s(long pid) {
  if (pid == 0) {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval &t) {
      return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t name_end = text.rfind(')');  // the command name may hold spaces
  if (name_end == std::string::npos) die("cannot read /proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(text.substr(name_end + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // utime is field 14, stime 15
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double percentile(const std::vector<double>& sorted, double p) {
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) die("usage: bench_api_load CONFIG.json");
  std::ifstream in(argv[1]);
  const json config = json::parse(in);
  const int clients = config.value("clients", 16);
  const size_t warmup = config.value("warmup", 32);
  const long daemon_pid = config.value("daemon_pid", 0L);
  if (config.contains("http") && daemon_pid == 0) die("an http config needs daemon_pid");
  std::vector<std::unique_ptr<Connection>> connections;
  for (int c = 0; c < clients; ++c) connections.push_back(std::make_unique<Connection>(config));
  json out = json::object();
  for (const json& kind : config["kinds"]) {
    const json& requests = kind["requests"];
    const bool keep_alive = kind.value("keep_alive", true);
    std::vector<double> ms(requests.size(), -1);
    std::atomic<size_t> next{0};
    std::atomic<size_t> bytes{0};
    const auto t0 = Clock::now();
    const double cpu0 = serving_cpu_s(daemon_pid);
    std::vector<std::thread> pool;
    for (int c = 0; c < clients; ++c) {
      pool.emplace_back([&, c] {
        for (size_t i; (i = next.fetch_add(1)) < requests.size();) {
          const auto s = Clock::now();
          bytes += connections[c]->run(requests[i], keep_alive);
          ms[i] = std::chrono::duration<double, std::milli>(Clock::now() - s).count();
        }
      });
    }
    for (std::thread& t : pool) t.join();
    const double cpu_s = serving_cpu_s(daemon_pid) - cpu0;
    const double wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::vector<double> timed(ms.begin() + static_cast<std::ptrdiff_t>(std::min(warmup, ms.size())), ms.end());
    if (timed.empty()) die("kind " + kind["name"].get<std::string>() + " has no timed requests");
    std::sort(timed.begin(), timed.end());
    out[kind["name"].get<std::string>()] = {
        {"requests", timed.size()}, {"p50_ms", percentile(timed, 0.50)}, {"p99_ms", percentile(timed, 0.99)},
        {"max_ms", timed.back()}, {"requests_per_s", static_cast<double>(requests.size()) / wall_s},
        {"cpu_ms_per_request", 1e3 * cpu_s / static_cast<double>(requests.size())}, {"bytes", bytes.load()}};
  }
  std::cout << out.dump() << std::endl;
  return 0;
}
