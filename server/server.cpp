#include "server.hpp"

#include "e2b/e2b.hpp"

#include <hutch/error.hpp>

#include <hutch/log.hpp>

#include <boost/asio/strand.hpp>

#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>

namespace hutch::server {

namespace net = boost::asio;

Server::Server(const Config& config, const ServeOptions& options)
    : workers_(options.workers), router_(make_router()), limits_(options.limits), signals_(io_, SIGINT, SIGTERM), drain_timer_(io_), destroy_on_exit_(options.destroy_on_exit) {
  Tokens tokens = options.tokens_file ? Tokens::load(*options.tokens_file) : Tokens{};
  const bool have_tokens = !tokens.empty();
  listeners_ = inherited_listeners(io_, have_tokens);
  if (listeners_.empty()) {
    std::vector<ListenAddress> addresses = options.listen;
    if (addresses.empty()) addresses.push_back(default_listen_address());
    for (const ListenAddress& address : addresses) listeners_.push_back(open_listener(io_, address, have_tokens));
  }
  service_ = std::make_unique<Service>(config, std::move(tokens));
  service_->set_json_body_limit(options.json_body_limit);
  service_->start_pools(options.pools);
  add_e2b_routes(router_, *service_, options.e2b);
}

Server::~Server() = default;

template <class Acceptor>
void Server::accept(Acceptor& acceptor) {
  acceptor.async_accept(net::make_strand(io_), [this, &acceptor](boost::system::error_code ec, auto socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) serve_connection(std::move(socket), ConnectionContext{router_, *service_, workers_, limits_});
    else logger()->warn("accept: {}", ec.message());
    accept(acceptor);
  });
}

void Server::run() {
  for (auto& listener : listeners_) {
    std::visit([this](auto& acceptor) { accept(acceptor); }, listener->acceptor());
    std::cerr << "hutch serve: listening on " << listener->description() << std::endl;
  }
  signals_.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;
    logger()->info("signal {}: draining", signal);
    for (auto& listener : listeners_) listener->close();
    service_->begin_drain();
    stop_when_idle(std::chrono::steady_clock::now() + kDrainTimeout);
  });
  io_.run();
  listeners_.clear();  // closes them and removes the Unix sockets' files
  // A DELETE that was answered is carried out before the service ends.
  service_->finish_removals();
  // A pool's ready sandboxes belong to no client: they go with the service, always.
  service_->stop_pools();
  if (destroy_on_exit_) service_->destroy_own_sandboxes();
}

void Server::stop_when_idle(std::chrono::steady_clock::time_point deadline) {
  if (service_->requests_running() == 0 || std::chrono::steady_clock::now() >= deadline) {
    if (service_->requests_running() != 0)
      logger()->warn("{} request(s) still running after the drain's {} s; stopping", service_->requests_running(), kDrainTimeout.count());
    return stop();
  }
  drain_timer_.expires_after(std::chrono::milliseconds(20));
  drain_timer_.async_wait([this, deadline](boost::system::error_code ec) {
    if (!ec) stop_when_idle(deadline);
  });
}

void Server::stop() {
  for (auto& listener : listeners_) listener->close();
  io_.stop();
}

}  // namespace hutch::server
