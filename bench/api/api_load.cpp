// bench_api_load: the load generator of bench/api (README.md there), one binary for
// both sides so that they are timed the same way.
//
//   bench_api_load CONFIG.json
// CONFIG: {"clients": 16, "warmup": 32,
//          "http": "127.0.0.1:PORT"            (radflowd's side), or
//          "db": "/path/radflow.db"            (SQLite straight, the peer),
//          "kinds": [{"name": "run list", "requests": [REQUEST, ...]}, ...]}
// A REQUEST is a URL path (http) or a list of [SQL, [params...]] statements run one
// after another, every row stepped and every column read as text (db). Each kind in
// turn: `clients` threads, each with its own keep-alive connection (or its own
// read-only SQLite connection), take the requests in order from a shared counter;
// the first `warmup` are not timed. A kind with "keep_alive": false makes a new HTTP
// connection for every request (what curl does; the daemon's answer on a kept-alive
// connection can wait for the client's delayed ACK). Prints one JSON object: per kind the request
// count, p50, p99 and max in milliseconds, and requests/s.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
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
      const std::string sql = statement[0];
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
        die(sql + ": " + sqlite3_errmsg(db_));
      }
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
      if (rc != SQLITE_DONE) die(sql + ": " + sqlite3_errmsg(db_));
      sqlite3_finalize(stmt);
    }
    return bytes;
  }

 private:
  std::unique_ptr<httplib::Client> http_;
  sqlite3* db_ = nullptr;
};

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
    const double wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::vector<double> timed(ms.begin() + static_cast<std::ptrdiff_t>(std::min(warmup, ms.size())), ms.end());
    if (timed.empty()) die("kind " + kind["name"].get<std::string>() + " has no timed requests");
    std::sort(timed.begin(), timed.end());
    out[kind["name"].get<std::string>()] = {
        {"requests", timed.size()}, {"p50_ms", percentile(timed, 0.50)}, {"p99_ms", percentile(timed, 0.99)},
        {"max_ms", timed.back()}, {"requests_per_s", static_cast<double>(requests.size()) / wall_s},
        {"bytes", bytes.load()}};
  }
  std::cout << out.dump() << std::endl;
  return 0;
}
