// Server: the running service — its listeners, the I/O thread that accepts connections and
// reads and writes them, and the worker threads that run the handlers (blocking backend
// calls never run on the I/O thread).
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>

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
  // listener on stderr once accepting. A signal drains (Service::begin_drain): the listeners
  // close at once (removing socket files), streamed commands end, and the requests running are
  // waited for, up to kDrainTimeout. Before it returns, run() waits for the sandbox removals in
  // progress (Service::finish_removals), destroys the pools' ready sandboxes and, with destroy_on_exit, removes every sandbox the
  // service made. Requests still running past the drain are not waited for: destroying the
  // Server joins them, so a program that must end at once _exits instead.
  void run();
  void stop();

  static constexpr std::chrono::seconds kDrainTimeout{30};

 private:
  template <class Acceptor>
  void accept(Acceptor& acceptor);
  // Stops once no request runs or `deadline` has passed, checking every 20 ms.
  void stop_when_idle(std::chrono::steady_clock::time_point deadline);

  boost::asio::io_context io_;
  boost::asio::thread_pool workers_;
  std::unique_ptr<Service> service_;
  Router router_;
  ConnectionLimits limits_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer drain_timer_;
  bool destroy_on_exit_ = false;
};

}  // namespace hutch::server
