#include "tcp_relay.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <memory>

namespace hutch::subcontainer::port_forwarder {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Per direction and connection: enough to keep a loopback stream busy, little for many
// idle connections.
constexpr std::size_t kBufferSize = 64 * 1024;

// One accepted connection and its twin to the sandbox. Both directions hold it alive; it
// closes both sockets once neither needs it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket client, asio::io_context& io) : client_(std::move(client)), sandbox_(io) {}

  void start(const tcp::endpoint& target) {
    sandbox_.async_connect(target, [self = shared_from_this()](const boost::system::error_code& error) {
      if (error) return;  // refused: both sockets close with the last reference
      self->pump(self->client_, self->sandbox_, self->to_sandbox_);
      self->pump(self->sandbox_, self->client_, self->to_client_);
    });
  }

 private:
  using Buffer = std::array<char, kBufferSize>;

  void pump(tcp::socket& from, tcp::socket& to, Buffer& buffer) {
    from.async_read_some(asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                                   const boost::system::error_code& error, std::size_t got) {
      if (error) {
        boost::system::error_code ignored;
        if (error == asio::error::eof) {
          // A half close goes on as one: the other side may still answer.
          to.shutdown(tcp::socket::shutdown_send, ignored);
        } else {
          // A reset (or worse) ends the whole connection.
          from.close(ignored);
          to.close(ignored);
        }
        return;
      }
      asio::async_write(to, asio::buffer(buffer.data(), got),
                        [self, &from, &to, &buffer](const boost::system::error_code& error, std::size_t) {
                          if (error) {
                            boost::system::error_code ignored;
                            from.close(ignored);
                            to.close(ignored);
                            return;
                          }
                          self->pump(from, to, buffer);
                        });
    });
  }

  tcp::socket client_;
  tcp::socket sandbox_;
  Buffer to_sandbox_{};
  Buffer to_client_{};
};

class Acceptor : public std::enable_shared_from_this<Acceptor> {
 public:
  Acceptor(asio::io_context& io, tcp::acceptor listener, tcp::endpoint target)
      : io_(io), listener_(std::move(listener)), target_(std::move(target)), retry_(io) {}

  void accept() {
    listener_.async_accept([self = shared_from_this()](const boost::system::error_code& error, tcp::socket client) {
      if (error == asio::error::operation_aborted) return;
      if (error) {
        // Out of descriptors or memory: the connection waits in the backlog until some close.
        self->retry_.expires_after(std::chrono::milliseconds(100));
        self->retry_.async_wait([self](const boost::system::error_code& error) {
          if (!error) self->accept();
        });
        return;
      }
      std::make_shared<Connection>(std::move(client), self->io_)->start(self->target_);
      self->accept();
    });
  }

 private:
  asio::io_context& io_;
  tcp::acceptor listener_;
  tcp::endpoint target_;
  asio::steady_timer retry_;
};

}  // namespace

void start_tcp_relay(asio::io_context& io, tcp::acceptor listener, tcp::endpoint target) {
  std::make_shared<Acceptor>(io, std::move(listener), std::move(target))->accept();
}

}  // namespace hutch::subcontainer::port_forwarder
