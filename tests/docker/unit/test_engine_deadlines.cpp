// The client never hangs: a daemon that accepts but never answers, or answers half a
// response, makes calls fail with Errc::timeout naming the endpoint; a missing socket fails
// at once with Errc::backend. Uses real Unix sockets in a temporary directory.
#include "engine/client.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

namespace hutch::docker {
namespace {

// A Unix socket server that accepts connections and answers each with `reply` (maybe none),
// then keeps them open until stopped.
class SilentServer {
 public:
  explicit SilentServer(std::string reply) : reply_(std::move(reply)) {
    path_ = "/tmp/hutch-silent-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".sock";
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd_, 8) != 0)
      throw std::runtime_error("cannot listen on " + path_);
    thread_ = std::thread([this] {
      for (;;) {
        int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        clients_.push_back(client);
        char buffer[4096];
        [[maybe_unused]] auto n = ::recv(client, buffer, sizeof buffer, 0);
        if (!reply_.empty()) [[maybe_unused]] auto sent = ::send(client, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      }
    });
  }
  ~SilentServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (int client : clients_) ::close(client);
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  static inline std::atomic<int> counter_{0};
  std::string reply_;
  std::string path_;
  int fd_ = -1;
  std::vector<int> clients_;
  std::thread thread_;
};

ClientOptions options_for(const std::string& path) {
  ClientOptions options;
  options.endpoint = parse_endpoint("unix://" + path);
  options.request_timeout = std::chrono::milliseconds(300);
  options.api_version = "1.41";
  return options;
}

template <class Call>
void expect_timeout(Call&& call, const std::string& endpoint) {
  auto started = std::chrono::steady_clock::now();
  try {
    call();
    ADD_FAILURE() << "the call returned although the server never answered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::timeout) << e.what();
    EXPECT_NE(std::string(e.what()).find(endpoint), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

TEST(EngineDeadlines, SilentDaemonTimesOut) {
  SilentServer server("");
  EngineClient client(options_for(server.path()));
  Request request;
  request.target = "/containers/json";
  expect_timeout([&] { client.call(request); }, server.path());
  expect_timeout([&] { client.open_reader(request); }, server.path());
  expect_timeout([&] { client.hijack(request); }, server.path());
}

TEST(EngineDeadlines, HalfAnsweredBodyTimesOut) {
  SilentServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part");
  EngineClient client(options_for(server.path()));
  Request request;
  request.target = "/containers/json";
  expect_timeout([&] { client.call(request); }, server.path());
  auto reader = client.open_reader(request);
  EXPECT_EQ(reader->status(), 200u);
  EXPECT_EQ(reader->next(), "only part");
  expect_timeout([&] { reader->next(); }, server.path());
}

TEST(EngineDeadlines, VersionNegotiationTimesOutToo) {
  SilentServer server("");
  auto options = options_for(server.path());
  options.api_version.reset();
  EngineClient client(options);
  expect_timeout([&] { client.api_version(); }, server.path());
}

TEST(EngineDeadlines, MissingSocketFailsAtOnce) {
  EngineClient client(options_for("/tmp/hutch-no-such-daemon.sock"));
  Request request;
  request.target = "/_ping";
  try {
    client.call(request);
    FAIL() << "a call to a missing socket succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::backend);
    EXPECT_NE(std::string(e.what()).find("/tmp/hutch-no-such-daemon.sock"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dockerd"), std::string::npos) << e.what();
  }
}

TEST(EngineDeadlines, ErrorStatusCarriesTheDaemonsMessage) {
  SilentServer server(
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 38\r\n\r\n"
      "{\"message\":\"No such container: abc\"}\n\n");
  EngineClient client(options_for(server.path()));
  Request request;
  request.target = "/containers/abc/json";
  request.what = "inspect sandbox abc";
  try {
    client.call(request);
    FAIL() << "a 404 was not an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    EXPECT_NE(std::string(e.what()).find("inspect sandbox abc: No such container: abc (HTTP 404)"), std::string::npos)
        << e.what();
  }
}

TEST(EngineStreams, BytesReadWithTheUpgradeHeaderBelongToTheStream) {
  const std::string payload = std::string("\x01\0\0\0\0\0\0\x02hi", 10);
  SilentServer server(
      "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
      "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" +
      payload);
  EngineClient client(options_for(server.path()));
  Request request;
  request.method = Method::post;
  request.target = "/exec/x/start";
  auto stream = client.hijack(request);
  std::string got;
  char buffer[64];
  while (got.size() < payload.size()) {
    auto n = stream->read_some(buffer, sizeof buffer, Clock::now() + std::chrono::seconds(2));
    ASSERT_TRUE(n && *n > 0) << "the stream's first bytes were lost";
    got.append(buffer, *n);
  }
  EXPECT_EQ(got, payload);
  // Nothing more arrives: the read gives up at its deadline instead of hanging.
  auto started = Clock::now();
  EXPECT_FALSE(stream->read_some(buffer, sizeof buffer, Clock::now() + std::chrono::milliseconds(200)));
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(2));
}

TEST(EngineStreams, StdinThatIsNotReadGivesUpAtTheDeadline) {
  // The server never reads: once the socket buffers are full a write must stop at its
  // deadline (DockerProcess then pings the daemon instead of waiting blindly).
  SilentServer server("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
  EngineClient client(options_for(server.path()));
  Request request;
  request.method = Method::post;
  request.target = "/exec/x/start";
  auto stream = client.hijack(request);
  const std::string block(1 << 20, 'x');
  auto started = Clock::now();
  std::size_t written = 0;
  std::optional<std::size_t> n;
  while ((n = stream->write_some(block, Clock::now() + std::chrono::milliseconds(200)))) {
    written += *n;
    ASSERT_LT(written, std::size_t(256) << 20) << "a peer that never reads took 256 MiB";
  }
  EXPECT_GT(written, 0u);
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
  EXPECT_THROW(stream->write_all(block, Clock::now() + std::chrono::milliseconds(100)), Error);
}

}  // namespace
}  // namespace hutch::docker
