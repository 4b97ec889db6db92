#include "udp_relay.hpp"

#include <boost/asio/steady_timer.hpp>

#include <array>
#include <map>
#include <memory>

namespace hutch::subcontainer::port_forwarder {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

constexpr std::size_t kMaxDatagram = 65536;

class Relay;

// One client address: its own socket to the sandbox, closed once idle.
class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(asio::io_context& io, std::weak_ptr<Relay> relay, udp::endpoint address)
      : relay_(std::move(relay)), address_(std::move(address)), socket_(io), idle_(io) {}

  // Errors are the caller's: a client that cannot reach the sandbox is not made.
  void connect(const udp::endpoint& target) {
    socket_.open(target.protocol());
    socket_.connect(target);
    receive();
    touch();
  }

  void send(const char* data, std::size_t size) {
    boost::system::error_code ignored;
    // Datagrams may be lost: one that cannot be sent now is.
    socket_.send(asio::buffer(data, size), 0, ignored);
    touch();
  }

  void close();

 private:
  void receive();
  void touch() {
    idle_.expires_after(kUdpIdle);
    idle_.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
      if (error) return;  // touched again, or closed
      if (auto self = weak.lock()) self->close();
    });
  }

  std::weak_ptr<Relay> relay_;
  udp::endpoint address_;
  udp::socket socket_;
  asio::steady_timer idle_;
  std::array<char, kMaxDatagram> buffer_{};
};

class Relay : public std::enable_shared_from_this<Relay> {
 public:
  Relay(asio::io_context& io, udp::socket host_socket, udp::endpoint target)
      : io_(io), host_(std::move(host_socket)), target_(std::move(target)) {}

  void receive() {
    host_.async_receive_from(asio::buffer(buffer_), sender_,
                             [self = shared_from_this()](const boost::system::error_code& error, std::size_t got) {
                               if (error == asio::error::operation_aborted) return;
                               if (!error) self->forward(got);
                               self->receive();
                             });
  }

  // A reply of the sandbox to `client`, from the host socket it wrote to.
  void reply(const udp::endpoint& client, const char* data, std::size_t size) {
    boost::system::error_code ignored;
    host_.send_to(asio::buffer(data, size), client, 0, ignored);
  }

  void forget(const udp::endpoint& client) { clients_.erase(client); }

 private:
  void forward(std::size_t size) {
    auto found = clients_.find(sender_);
    if (found == clients_.end()) {
      if (clients_.size() >= kUdpClients) return;
      auto client = std::make_shared<Client>(io_, weak_from_this(), sender_);
      try {
        client->connect(target_);
      } catch (const boost::system::system_error&) {
        return;
      }
      found = clients_.emplace(sender_, std::move(client)).first;
    }
    found->second->send(buffer_.data(), size);
  }

  asio::io_context& io_;
  udp::socket host_;
  udp::endpoint target_;
  udp::endpoint sender_;
  std::array<char, kMaxDatagram> buffer_{};
  std::map<udp::endpoint, std::shared_ptr<Client>> clients_;
};

void Client::receive() {
  socket_.async_receive(asio::buffer(buffer_), [self = shared_from_this()](const boost::system::error_code& error,
                                                                            std::size_t got) {
    if (error == asio::error::operation_aborted || !self->socket_.is_open()) return;
    // An ICMP error from the sandbox (nothing listens) shows as a failed receive: keep reading.
    if (!error)
      if (auto relay = self->relay_.lock()) relay->reply(self->address_, self->buffer_.data(), got);
    self->receive();
  });
}

void Client::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  idle_.cancel();
  // Last, with a copy of the key: the relay's reference may be the last one.
  const udp::endpoint address = address_;
  if (auto relay = relay_.lock()) relay->forget(address);
}

}  // namespace

void start_udp_relay(asio::io_context& io, udp::socket host_socket, udp::endpoint target) {
  std::make_shared<Relay>(io, std::move(host_socket), std::move(target))->receive();
}

}  // namespace hutch::subcontainer::port_forwarder
