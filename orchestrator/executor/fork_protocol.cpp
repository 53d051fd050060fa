#include "orchestrator/executor/fork_protocol.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace radflow {

Status send_fork_message(int socket, const std::string& json, const std::vector<int>& fds) {
  RF_CHECK(fds.size() <= kMaxForkFds, "too many fds for one fork-server message");
  if (json.size() > kMaxForkMessageBytes) {
    return Status::error("io_error", "fork-server message of " + std::to_string(json.size()) +
                                         " bytes is over the limit of " +
                                         std::to_string(kMaxForkMessageBytes));
  }
  iovec data{const_cast<char*>(json.data()), json.size()};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxForkFds)] = {};
  if (!fds.empty()) {
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t sent;
  do {
    sent = sendmsg(socket, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    return Status::error(errno == EPIPE ? "closed" : "io_error",
                         std::string("fork server: send: ") + std::strerror(errno));
  }
  return Status();
}

Result<ForkMessage> receive_fork_message(int socket) {
  std::string buffer(kMaxForkMessageBytes, '\0');
  iovec data{buffer.data(), buffer.size()};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxForkFds)] = {};
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t received;
  do {
    received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
  } while (received < 0 && errno == EINTR);
  if (received < 0) {
    return Status::error("io_error", std::string("fork server: receive: ") + std::strerror(errno));
  }
  ForkMessage out;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    out.fds.resize(count);
    std::memcpy(out.fds.data(), CMSG_DATA(header), sizeof(int) * count);
  }
  if (received == 0 && out.fds.empty()) {
    return Status::error("closed", "fork server: the other end hung up");
  }
  if ((message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    for (int fd : out.fds) close(fd);
    return Status::error("io_error", "fork server: a message was cut short");
  }
  out.json.assign(buffer.data(), static_cast<size_t>(received));
  return out;
}

}  // namespace radflow
