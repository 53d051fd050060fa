// How radflowd's HTTP server sets up the sockets it accepts, read from the daemon's own
// socket (pidfd_getfd duplicates it into this process; the daemon is our child).
#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

int local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  return ntohs(addr.sin_port);
}

int peer_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  return ntohs(addr.sin_port);
}

// A copy of the daemon's socket whose peer is our `client_port`, or -1 (with
// *not_permitted set when the kernel refused to copy the daemon's descriptors).
int daemon_side_of(pid_t daemon, int client_port, bool* not_permitted) {
  *not_permitted = false;
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, daemon, 0));
  if (pidfd < 0) return -1;
  int found = -1;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(daemon) + "/fd")) {
    const int target = std::stoi(entry.path().filename().string());
    const int copy = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, target, 0));
    if (copy < 0) {
      if (errno == EPERM) *not_permitted = true;
      continue;
    }
    if (peer_port(copy) == client_port) {
      found = copy;
      break;
    }
    close(copy);
  }
  close(pidfd);
  return found;
}

// A kept-alive connection (browsers keep theirs) must not wait for the client's delayed
// ACK before each small answer goes out: without TCP_NODELAY every light request on
// such a connection took about 40 ms (bench/api) instead of under 1 ms.
TEST(HttpSockets, AcceptedConnectionsSetTcpNodelay) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());

  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(daemon.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  char reply[512];
  ASSERT_GT(read(fd, reply, sizeof reply), 0);  // served, and the connection kept alive

  bool not_permitted = false;
  const int server_side = daemon_side_of(daemon.pid(), local_port(fd), &not_permitted);
  if (server_side < 0 && not_permitted) GTEST_SKIP() << "pidfd_getfd on radflowd not permitted here";
  ASSERT_GE(server_side, 0) << "no socket of radflowd is connected to port " << local_port(fd);
  int nodelay = 0;
  socklen_t len = sizeof nodelay;
  ASSERT_EQ(getsockopt(server_side, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
  EXPECT_EQ(nodelay, 1) << "radflowd's accepted socket lacks TCP_NODELAY";
  close(server_side);
  close(fd);
}

}  // namespace
}  // namespace radflow::test
