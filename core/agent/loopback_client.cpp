#include "loopback_client.hpp"

#include "control_client.hpp"
#include "wire.hpp"

#include <hutch/error.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

namespace hutch::agent {
namespace {

// Whether `fd` is a TCP stream socket (IPv4 or IPv6) that is connected.
bool is_connected_tcp_socket(int fd) {
  int domain = 0, type = 0, protocol = 0;
  socklen_t size = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0) return false;
  size = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0) return false;
  size = sizeof protocol;
  if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &size) != 0) return false;
  sockaddr_storage peer{};
  socklen_t peer_size = sizeof peer;
  return (domain == AF_INET || domain == AF_INET6) && type == SOCK_STREAM && protocol == IPPROTO_TCP &&
         ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) == 0;
}

}  // namespace

UniqueFd request_loopback_connection(const std::filesystem::path& socket, const std::string& id, std::uint16_t port,
                                     pid_t agent_pid, Duration start_timeout) {
  if (port == 0) throw Error(Errc::invalid_argument, "sandbox " + id + ": connect_port: port 0 is not 1-65535");
  const auto deadline = std::chrono::steady_clock::now() + start_timeout;
  wire::ExecMessage message;
  message.connect_port = port;
  UniqueFd control = send_request(socket, id, message, {}, agent_pid, start_timeout);
  std::string answer;
  UniqueFd connection;
  if (!read_answer_with_fd(control.get(), deadline, start_timeout, id, answer, connection))
    throw Error(Errc::state, "sandbox " + id + ": its agent closed the connection before it connected to port " +
                                 std::to_string(port) + " (was the sandbox stopped or destroyed?)");
  const std::string line = answer.substr(0, answer.find('\n'));
  if (line.starts_with("E ")) throw Error(Errc::io, "sandbox " + id + ": " + line.substr(2));
  if (line != "P" || !connection || !is_connected_tcp_socket(connection.get()))
    throw Error(Errc::permission_denied, "sandbox " + id + ": the agent's answer to a connection request for port " +
                                             std::to_string(port) + " carries no connected TCP socket; refusing it");
  return connection;
}

}  // namespace hutch::agent
