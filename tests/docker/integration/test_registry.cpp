// Pulling from a registry: a real registry (Debian's docker-registry) on 127.0.0.1 with the
// test image pushed into it. Needs the docker-registry package; HUTCH_REQUIRE_REGISTRY=1 makes
// its absence a failure.
#include "docker_fixture.hpp"
#include "engine/query.hpp"
#include "images.hpp"
#include "temp_dir.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace hutch::docker::test {
namespace {

constexpr const char* kRegistryBinary = "/usr/bin/docker-registry";

std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

bool port_answers(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

// A registry serving from a temporary directory; stopped and removed on destruction.
class LocalRegistry {
 public:
  LocalRegistry() : port_(free_loopback_port()) {
    std::filesystem::create_directories(dir_ / "data");
    std::ofstream(dir_ / "config.yml") << "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                                       << "    rootdirectory: " << (dir_ / "data").string() << "\n"
                                       << "  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:" << port_ << "\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string config = (dir_ / "config.yml").string();
      int null = ::open("/dev/null", O_WRONLY);  // its request log is noise here
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execl(kRegistryBinary, kRegistryBinary, "serve", config.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 100 && !port_answers(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ~LocalRegistry() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool up() const { return port_answers(port_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::uint16_t port_;
  hutch::test::TempDir dir_{"hutch-registry-"};
  pid_t pid_ = -1;
};

TEST_F(DockerTest, PullsAMissingImageFromARegistry) {
  HUTCH_NEED(::access(kRegistryBinary, X_OK) == 0, "HUTCH_REQUIRE_REGISTRY",
           "docker-registry is not installed (apt-get install docker-registry)");
  auto& context = *backend_->context();
  // The registry speaks plain HTTP on a port of its own: dockerd trusts 127.0.0.0/8 for that,
  // Podman only registries that registries.conf lists as insecure (its compat API takes no
  // tlsVerify; README, "Engines for the docker backend").
  if (context.client->engine().kind == EngineIdentity::Kind::podman)
    GTEST_SKIP() << "Podman pulls over plain HTTP only from registries listed in registries.conf";
  LocalRegistry registry;
  ASSERT_TRUE(registry.up()) << "the registry did not start on " << registry.address();
  const std::string repository = registry.address() + "/hutch-test/busybox";
  const std::string reference = repository + ":pull-" + random_hex(6);
  auto [name, tag] = split_image_reference(reference);

  Request tag_request;
  tag_request.method = Method::post;
  tag_request.target = Target("/images").segment(test_image()).str() + "/tag?repo=" + percent_encode(name) +
                       "&tag=" + percent_encode(tag);
  context.client->call(tag_request);
  Request push;
  push.method = Method::post;
  push.target = "/images/" + name + "/push?tag=" + percent_encode(tag);
  push.headers.emplace_back("X-Registry-Auth", "e30=");  // "{}": no credentials
  push.timeout = std::chrono::minutes(5);
  auto pushed = context.client->call(push);
  ASSERT_EQ(pushed.body.find("\"error\""), std::string::npos) << pushed.body;
  Request untag;
  untag.method = Method::delete_;
  untag.target = Target("/images").segment(reference).str();
  context.client->call(untag);
  ASSERT_FALSE(image_exists(context, reference));

  DockerConfig never;
  never.pull = PullPolicy::never;
  auto spec = base_spec();
  spec.image = reference;
  try {
    make_backend(never)->create(spec);
    ADD_FAILURE() << "pull = never created from an image that is not present";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found) << e.what();
  }

  DockerConfig missing;
  missing.pull = PullPolicy::missing;
  missing.registry_auth = RegistryAuth{"anyone", "anything", registry.address(), ""};
  auto backend = make_backend(missing);
  auto sandbox = create(spec, backend.get());
  EXPECT_TRUE(image_exists(context, reference));
  EXPECT_EQ(sh(*sandbox, "echo pulled").stdout_data, "pulled\n");
  sandbox->destroy();

  auto unknown = base_spec();
  unknown.image = repository + ":no-such-tag";
  try {
    backend->create(unknown);
    ADD_FAILURE() << "created from a tag the registry does not have";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found) << e.what();
    EXPECT_NE(std::string(e.what()).find("no-such-tag"), std::string::npos) << e.what();
  }
  context.client->call(untag);
}

}  // namespace
}  // namespace hutch::docker::test
