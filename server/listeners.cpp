#include "listeners.hpp"

#include <hutch/error.hpp>

#include <boost/asio/connect.hpp>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hutch::server {

namespace net = boost::asio;
using net::ip::tcp;
using local = net::local::stream_protocol;

namespace {

void require_tcp_allowed(const std::string& what, const net::ip::address& address, bool have_tokens, bool tls) {
  if (!tls && !address.is_loopback())
    throw Error(Errc::config, what + ": plain TCP is refused on a non-loopback address (the tokens and the "
                                     "sandboxes' data would cross the network in clear); bind to 127.0.0.1 or ::1, "
                                     "or give [serve] tls_cert and tls_key (--tls-cert, --tls-key) for TLS");
  if (!have_tokens)
    throw Error(Errc::config, what + ": TCP needs tokens (any local user can connect to a TCP port): give "
                                     "--tokens-file or [serve] tokens_file");
}

// Makes the socket's directory (0750) if it is missing.
void make_socket_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return;
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) throw_system_error("make the socket directory " + dir.string(), errno);
  ::chmod(dir.c_str(), 0750);  // whatever the umask took away or left
}

// Removes a socket file nobody answers on; Errc::already_exists when a service answers.
void remove_stale_socket(net::io_context& io, const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return;
  if (!S_ISSOCK(info.st_mode))
    throw Error(Errc::already_exists, path + " exists and is not a socket; remove it or listen elsewhere");
  local::socket probe(io);
  boost::system::error_code ec;
  probe.connect(local::endpoint(path), ec);
  if (!ec) throw Error(Errc::already_exists, "a service is already listening on " + path);
  ::unlink(path.c_str());
}

}  // namespace

Listener::Listener(Acceptor acceptor, std::string description, std::string socket_file, bool tls)
    : acceptor_(std::move(acceptor)),
      description_(std::move(description) + (tls ? " (TLS)" : "")),
      socket_file_(std::move(socket_file)),
      tls_(tls) {}

Listener::~Listener() {
  close();
  if (!socket_file_.empty()) ::unlink(socket_file_.c_str());
}

void Listener::close() {
  std::visit([](auto& acceptor) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
  }, acceptor_);
}

std::unique_ptr<Listener> open_listener(net::io_context& io, const ListenAddress& address, bool have_tokens, bool tls) {
  const std::string what = "listen on " + address.text();
  if (address.kind == ListenAddress::Kind::tcp) {
    boost::system::error_code ec;
    net::ip::address ip = address.host == "localhost" ? net::ip::address(net::ip::address_v4::loopback())
                                                      : net::ip::make_address(address.host, ec);
    if (ec) throw Error(Errc::config, what + ": '" + address.host + "' is not an IP address (or localhost)");
    require_tcp_allowed(what, ip, have_tokens, tls);
    tcp::acceptor acceptor(io);
    tcp::endpoint endpoint(ip, address.port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(endpoint, ec);
    if (ec) throw Error(Errc::io, what + ": " + ec.message());
    acceptor.listen(net::socket_base::max_listen_connections);
    const auto bound = acceptor.local_endpoint();
    ListenAddress actual = address;
    actual.port = bound.port();  // port 0: the one the kernel chose
    return std::make_unique<Listener>(std::move(acceptor), actual.text(), "", tls);
  }
  make_socket_directory(std::filesystem::path(address.path).parent_path());
  remove_stale_socket(io, address.path);
  local::acceptor acceptor(io);
  acceptor.open(local());
  boost::system::error_code ec;
  // The socket file is made by bind with the umask's bits: 0660 from the start, no window
  // in which others could connect. The process is still single-threaded here.
  const mode_t old_mask = ::umask(0117);
  acceptor.bind(local::endpoint(address.path), ec);
  ::umask(old_mask);
  if (ec) throw Error(Errc::io, what + ": " + ec.message());
  acceptor.listen(net::socket_base::max_listen_connections);
  return std::make_unique<Listener>(std::move(acceptor), address.text(), address.path);
}

std::vector<std::unique_ptr<Listener>> inherited_listeners(net::io_context& io, bool have_tokens, bool tls) {
  std::vector<std::unique_ptr<Listener>> listeners;
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (pid == nullptr || fds == nullptr || std::to_string(::getpid()) != pid) return listeners;
  const int count = std::atoi(fds);
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  constexpr int kFirst = 3;  // SD_LISTEN_FDS_START
  for (int fd = kFirst; fd < kFirst + count; ++fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      throw_system_error("socket activation: fd " + std::to_string(fd), errno);
    const std::string what = "socket activation: fd " + std::to_string(fd);
    if (address.ss_family == AF_UNIX) {
      local::acceptor acceptor(io, local(), fd);
      const std::string description = what + " (" + acceptor.local_endpoint().path() + ")";
      listeners.push_back(std::make_unique<Listener>(std::move(acceptor), description));
    } else if (address.ss_family == AF_INET || address.ss_family == AF_INET6) {
      tcp::acceptor acceptor(io, address.ss_family == AF_INET ? tcp::v4() : tcp::v6(), fd);
      require_tcp_allowed(what, acceptor.local_endpoint().address(), have_tokens, tls);
      listeners.push_back(std::make_unique<Listener>(std::move(acceptor), what, "", tls));
    } else {
      throw Error(Errc::config, what + " is neither a Unix nor a TCP socket");
    }
  }
  return listeners;
}

}  // namespace hutch::server
