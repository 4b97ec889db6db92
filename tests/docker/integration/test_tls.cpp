// The docker backend against a dockerd that listens on 127.0.0.1 with --tlsverify
// (.ci/start-dockerd.sh starts it so, with certificates from .ci/make-tls-pki.sh;
// HUTCH_REQUIRE_TLS_DOCKER=1 makes its absence a failure): commands, stdin and files over TLS, a docker context that
// points at it, and each way the certificates can be wrong, said plainly.
#include "docker_fixture.hpp"
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <fstream>
#include <thread>

extern char** environ;

namespace hutch::docker::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path tls_dir() {
  const char* dir = std::getenv("HUTCH_TLS_DOCKERD_DIR");
  return dir != nullptr && *dir != '\0' ? fs::path(dir) : fs::path("/var/lib/hutch-ci/tls-dockerd");
}
fs::path pki() { return tls_dir() / "pki"; }
std::string tls_port() {
  const char* port = std::getenv("HUTCH_TLS_DOCKERD_PORT");
  return port != nullptr && *port != '\0' ? port : "23760";
}

class TlsDockerTest : public DockerTest {
 protected:
  AgentMode agent_mode() const override { return AgentMode::off; }

  void SetUp() override {
    DockerTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    HUTCH_NEED(fs::exists(pki() / "client" / "cert.pem"), "HUTCH_REQUIRE_TLS_DOCKER",
               "no TLS listener on dockerd (start it with .ci/start-dockerd.sh)");
  }

  void TearDown() override {
    DockerTest::TearDown();
    if (tls_backend_) fail_and_remove_leftovers(*tls_backend_, test_run_id(), "on the TLS daemon after this test");
  }

  // A backend for the TLS daemon at `host` with the certificates of pki()/`certs`.
  std::shared_ptr<DockerBackend> tls_backend(const std::string& certs, const std::string& host = "") {
    DockerConfig config;
    config.endpoint.host = host.empty() ? "tcp://127.0.0.1:" + tls_port() : host;
    config.endpoint.tls_verify = true;
    config.endpoint.cert_path = (pki() / certs).string();
    return make_backend(std::move(config));
  }

  // The message of the error `backend` gives when it first talks to its daemon.
  static std::string first_call_error(DockerBackend& backend) {
    try {
      backend.list();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::backend) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "the daemon was reached";
    return {};
  }

  std::shared_ptr<DockerBackend> tls_backend_;
};

TEST_F(TlsDockerTest, CommandsStdinAndFilesGoOverTls) {
  tls_backend_ = tls_backend("client");
  auto sandbox = create(base_spec(), tls_backend_.get());
  EXPECT_EQ(sh(*sandbox, "echo over-tls").stdout_data, "over-tls\n");

  // Buffered stdin larger than a TLS record and a socket buffer, and output as large.
  ExecRequest request;
  request.argv = {"sh", "-c", "wc -c; head -c 3000000 /dev/zero | wc -c >&2"};
  request.stdin_data = std::string(2'000'000, 'x');
  request.timeout = 60s;
  const ExecResult counted = sandbox->exec(request);
  EXPECT_EQ(counted.exit_code, 0) << counted.stderr_data;
  EXPECT_EQ(counted.stdout_data, "2000000\n");
  EXPECT_EQ(counted.stderr_data, "3000000\n");

  // A streamed command: stdin written in pieces, then closed (TLS close_notify), output read.
  ExecRequest streamed;
  streamed.argv = {"sh", "-c", "tr a-z A-Z"};
  streamed.timeout = 60s;
  auto process = sandbox->spawn(streamed);
  process->write_stdin("hello ");
  process->write_stdin("over tls\n");
  process->close_stdin();
  std::string out;
  while (auto chunk = process->read_output())
    if (chunk->stream == StreamId::stdout_stream) out += chunk->data;
  EXPECT_EQ(process->wait().exit_code, 0);
  EXPECT_EQ(out, "HELLO OVER TLS\n");

  sandbox->fs().write("/tmp/over-tls", "file content");
  EXPECT_EQ(sandbox->fs().read("/tmp/over-tls"), "file content");
}

TEST_F(TlsDockerTest, ADockerContextPointsAtTheTlsDaemon) {
  // As `docker context create tls-test --docker host=...,ca=...,cert=...,key=...` stores it.
  hutch::test::TempDir config_dir("hutch-docker-config-");
  const std::string hash = [] {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    const std::string name = "tls-test";
    EVP_Digest(name.data(), name.size(), digest, &size, EVP_sha256(), nullptr);
    std::string hex;
    for (unsigned int i = 0; i < size; ++i) hex += "0123456789abcdef"[digest[i] >> 4], hex += "0123456789abcdef"[digest[i] & 15];
    return hex;
  }();
  fs::create_directories(config_dir / "contexts/meta" / hash);
  std::ofstream(config_dir / "contexts/meta" / hash / "meta.json")
      << R"({"Name":"tls-test","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:)" << tls_port()
      << R"(","SkipTLSVerify":false}}})";
  fs::create_directories(config_dir / "contexts/tls" / hash / "docker");
  for (const char* file : {"ca.pem", "cert.pem", "key.pem"})
    fs::copy_file(pki() / "client" / file, config_dir / "contexts/tls" / hash / "docker" / file);
  std::ofstream(config_dir / "config.json") << R"({"currentContext":"tls-test"})";

  const char* saved_host = std::getenv("DOCKER_HOST");
  const std::string host_before = saved_host != nullptr ? saved_host : "";
  ::unsetenv("DOCKER_HOST");
  ::setenv("DOCKER_CONFIG", config_dir.path().c_str(), 1);
  tls_backend_ = make_backend(DockerConfig{});
  ::unsetenv("DOCKER_CONFIG");
  if (!host_before.empty()) ::setenv("DOCKER_HOST", host_before.c_str(), 1);

  EXPECT_NE(tls_backend_->context()->client->endpoint_name().find(":" + tls_port() + " (TLS)"), std::string::npos)
      << tls_backend_->context()->client->endpoint_name();
  auto sandbox = create(base_spec(), tls_backend_.get());
  EXPECT_EQ(sh(*sandbox, "echo through-the-context").stdout_data, "through-the-context\n");
}

TEST_F(TlsDockerTest, AClientWithoutACertificateIsToldTheDaemonWantsOne) {
  auto backend = tls_backend("no-cert");
  const std::string message = first_call_error(*backend);
  EXPECT_NE(message.find("refused this client's certificate"), std::string::npos) << message;
}

TEST_F(TlsDockerTest, ADaemonCertificateFromAnUnknownCaIsNamed) {
  auto backend = tls_backend("wrong-ca");
  const std::string message = first_call_error(*backend);
  EXPECT_NE(message.find("not signed by a CA this client trusts"), std::string::npos) << message;
}

TEST_F(TlsDockerTest, ADaemonCertificateForAnotherNameIsNamed) {
  // The daemon's certificate names IP 127.0.0.1 only.
  auto backend = tls_backend("client", "tcp://localhost:" + tls_port());
  const std::string message = first_call_error(*backend);
  EXPECT_NE(message.find("hostname mismatch"), std::string::npos) << message;
}

// A free TCP port on 127.0.0.1 (bound, then let go).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST_F(TlsDockerTest, AnExpiredDaemonCertificateIsNamed) {
  // openssl s_server on 127.0.0.1 shows a certificate (for 127.0.0.1, from the right CA) that has expired.
  const std::string port = std::to_string(free_port());
  const std::string cert = (pki() / "expired.pem").string();
  const std::string key = (pki() / "expired.key").string();
  std::vector<std::string> args{"openssl", "s_server", "-quiet", "-accept", "127.0.0.1:" + port, "-cert", cert,
                                "-key", key};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // Quiet: it reports the probe connection below and the refused handshake on stderr.
  posix_spawn_file_actions_t quiet;
  posix_spawn_file_actions_init(&quiet);
  posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
  pid_t server = 0;
  const int spawned = ::posix_spawnp(&server, "openssl", &quiet, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&quiet);
  ASSERT_EQ(spawned, 0) << "openssl s_server did not start";
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{server};
  // Until it listens.
  for (auto give_up = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < give_up;) {
    const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool up = ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(probe);
    if (up) break;
    std::this_thread::sleep_for(50ms);
  }
  auto backend = tls_backend("client", "tcp://127.0.0.1:" + port);
  const std::string message = first_call_error(*backend);
  EXPECT_NE(message.find("expired"), std::string::npos) << message;
}

}  // namespace
}  // namespace hutch::docker::test
