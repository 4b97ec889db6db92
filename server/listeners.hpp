// The service's listening sockets, each an RAII object: a Unix socket (made 0660 in a 0750
// directory, its file removed again on destruction), a TCP port, or a socket handed over by
// systemd (LISTEN_FDS).
#pragma once

#include "listen_address.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace hutch::server {

class Listener {
 public:
  using Acceptor = std::variant<boost::asio::ip::tcp::acceptor, boost::asio::local::stream_protocol::acceptor>;

  Listener(Acceptor acceptor, std::string description, std::string socket_file = {}, bool tls = false);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  Acceptor& acceptor() { return acceptor_; }
  const std::string& description() const { return description_; }
  bool is_tcp() const { return acceptor_.index() == 0; }
  // Whether its connections speak TLS (a TCP listener of a service with tls_cert).
  bool tls() const { return tls_; }
  void close();

 private:
  Acceptor acceptor_;
  std::string description_;
  std::string socket_file_;  // removed on destruction (a Unix socket we bound)
  bool tls_ = false;
};

// Opens `address`. A TCP address needs tokens (`have_tokens`) and, unless its connections
// speak TLS (`tls`), must be a loopback one (plain TCP elsewhere would put tokens and
// sandboxes' data on the network in clear); both refusals are Errc::config saying what to do. A Unix socket whose file exists is replaced only when
// nothing answers on it (a stale one); a live one is Errc::already_exists.
std::unique_ptr<Listener> open_listener(boost::asio::io_context& io, const ListenAddress& address, bool have_tokens,
                                        bool tls = false);

// The sockets systemd passed (LISTEN_PID is us, LISTEN_FDS = n: fds 3..3+n-1); none when not
// socket-activated. The same rules as open_listener apply to a TCP one. Unsets the variables,
// so child processes do not take them for theirs.
std::vector<std::unique_ptr<Listener>> inherited_listeners(boost::asio::io_context& io, bool have_tokens, bool tls = false);

}  // namespace hutch::server
