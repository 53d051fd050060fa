// ApiLimits: how much one request, one client and all clients together may take
// from radflowd's HTTP server, so that no client can freeze the API for others.
// StreamGate: admission for long-lived responses (server-sent events, followed
// logs), each of which holds an HTTP worker thread for as long as it lasts.
//
// StreamGate is thread-safe. A StreamTicket gives its place back when destroyed;
// it may outlive the gate only if the gate is kept alive by a shared_ptr.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace radflow {

struct ApiLimits {
  size_t max_body_bytes = 4 * 1024 * 1024;  // request bodies, chunked ones included (413)
  int threads = 48;               // HTTP worker threads
  int max_streams = 24;           // open event streams and log follows, all clients (503)
  int max_streams_per_client = 6;  // the same, from one client address (429)
  int read_timeout_s = 5;         // a request that sends nothing for this long is dropped
  int write_timeout_s = 10;       // a client that reads nothing for this long is dropped
  int keep_alive_timeout_s = 3;   // an idle kept-alive connection is closed after this
};

class StreamGate;

class StreamTicket {
 public:
  StreamTicket(std::shared_ptr<StreamGate> gate, std::string client);
  ~StreamTicket();
  StreamTicket(const StreamTicket&) = delete;
  StreamTicket& operator=(const StreamTicket&) = delete;

 private:
  std::shared_ptr<StreamGate> gate_;
  std::string client_;
};

class StreamGate : public std::enable_shared_from_this<StreamGate> {
 public:
  enum class Refusal { kNone, kClientLimit, kServerLimit };

  StreamGate(int max_streams, int max_per_client)
      : max_streams_(max_streams), max_per_client_(max_per_client) {}

  // A ticket for one more stream from `client`, or null with `*why` set when a
  // limit is reached.
  std::unique_ptr<StreamTicket> try_enter(const std::string& client, Refusal* why);
  int open_streams() const;
  int max_streams() const { return max_streams_; }
  int max_per_client() const { return max_per_client_; }

 private:
  friend class StreamTicket;
  void leave(const std::string& client);

  const int max_streams_;
  const int max_per_client_;
  mutable std::mutex mutex_;
  int open_ = 0;
  std::map<std::string, int> per_client_;
};

}  // namespace radflow
