// Server: the running service — its listeners, the I/O thread that accepts connections and
// reads and writes them, and the worker threads that run the handlers (blocking backend
// calls never run on the I/O thread).
#pragma once

#include "listeners.hpp"
#include "options.hpp"
#include "router.hpp"
#include "service.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <vector>

namespace hutch::server {

class Server {
 public:
  // Opens every listener (systemd's, else options.listen, else the default socket) and loads
  // the backends; throws before anything is served when one fails.
  Server(const Config& config, const ServeOptions& options);
  ~Server();

  // Serves until SIGINT or SIGTERM (or stop()). Prints one "listening on ADDRESS" line per
  // listener on stderr once accepting; closes the listeners (removing socket files) before it
  // returns. Requests still running on workers are not waited for: destroying the Server
  // joins them, so a program that must end at once _exits instead.
  void run();
  void stop();

 private:
  template <class Acceptor>
  void accept(Acceptor& acceptor);

  boost::asio::io_context io_;
  boost::asio::thread_pool workers_;
  std::unique_ptr<Service> service_;
  Router router_;
  ConnectionLimits limits_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  boost::asio::signal_set signals_;
};

}  // namespace hutch::server
