// hutch-server: the service behind `hutch serve`. A program of its own, which the `serve` verb
// execs, rather than a module the CLI loads: Beast, Asio and OpenSSL then never touch the
// start-up of the other verbs (no extra library, relocation or page fault for `hutch run`),
// the service is a plain long-running process with its own signal handling that systemd can
// also start directly, and a crash of the CLI's code paths cannot take it down.
#include "options.hpp"
#include "server.hpp"

#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <malloc.h>
#include <unistd.h>

namespace {

// glibc gives each busy thread a malloc arena of its own (up to 8 per core) and keeps what is
// freed in them: after 200 clients' create/exec/destroy load the service held 94 MiB with every
// sandbox gone (15 MiB before); with two arenas 41 MiB, at the same throughput (bench/serve.sh).
// A MALLOC_ARENA_MAX the user set wins.
void limit_malloc_arenas() {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) ::mallopt(M_ARENA_MAX, 2);
}

}  // namespace

int main(int argc, char** argv) {
  limit_malloc_arenas();
  std::optional<std::string> config_file, log_level, tokens_file;
  std::vector<std::string> listen;
  CLI::App app{"hutch serve: the sandbox service (HTTP API /v1 on a Unix socket, loopback TCP, or TCP with TLS)", "hutch serve"};
  app.add_option("--config", config_file, "configuration file (as for hutch)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off");
  app.add_option("--listen", listen,
                 "unix:///PATH or tcp://HOST:PORT, repeatable (default: [serve] listen, else "
                 "/run/hutch/hutch.sock as root, $XDG_RUNTIME_DIR/hutch/hutch.sock otherwise)");
  app.add_option("--tokens-file", tokens_file, "bearer tokens, one 'NAME TOKEN [tenant=VALUE]' per line");
  std::optional<std::string> tls_cert, tls_key, tls_client_ca;
  app.add_option("--tls-cert", tls_cert, "PEM certificate (chain): TCP listeners speak TLS (over [serve] tls_cert)");
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert (over [serve] tls_key)");
  app.add_option("--tls-client-ca", tls_client_ca,
                 "PEM CA: TLS clients must show a certificate it signed (over [serve] tls_client_ca)");
  bool destroy_on_exit = false;
  app.add_flag("--destroy-on-exit", destroy_on_exit,
               "when the service ends (SIGTERM, SIGINT), remove every sandbox it made (default: they stay)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);
    std::cerr << "hutch: " << error.what() << std::endl;
    return 125;
  }
  try {
    if (log_level) hutch::set_log_level(*log_level);
    const hutch::Config config = hutch::load_config(config_file);
    hutch::set_log_level(log_level.value_or(config.log_level));
    hutch::server::ServeOptions options = hutch::server::read_serve_options(config.serve);
    if (!listen.empty()) {
      options.listen.clear();
      for (const std::string& text : listen) options.listen.push_back(hutch::server::parse_listen_address(text));
    }
    if (tokens_file) options.tokens_file = *tokens_file;
    if (tls_cert) options.tls.cert = hutch::tls::PemFile{*tls_cert, "--tls-cert"};
    if (tls_key) options.tls.key = hutch::tls::PemFile{*tls_key, "--tls-key"};
    if (tls_client_ca) options.tls.client_ca = hutch::tls::PemFile{*tls_client_ca, "--tls-client-ca"};
    options.destroy_on_exit = destroy_on_exit;
    hutch::server::Server server(config, options);
    server.run();
    // Workers may still wait in a backend call, and joining them could take as long as that
    // call; the sandboxes outlive the service anyway, so it ends here (run() has removed the
    // listeners' socket files).
    std::cerr.flush();
    ::_exit(0);
  } catch (const hutch::Error& error) {
    std::cerr << "hutch: " << error.what() << std::endl;
    return 125;
  } catch (const std::exception& error) {
    std::cerr << "hutch: internal error: " << error.what() << std::endl;
    return 125;
  }
}
