// Issue 14 on the subcontainer backend: max_file_bytes (EFBIG inside), the host's
// resolv.conf and hosts on the host network (and a name resolved through a DNS server the test
// runs on 127.0.0.1), and /workspace: ephemeral, none, or a persistent named volume listed and
// removed through SandboxBackend::volumes / remove_volume.
#include "runtime_fixture.hpp"

#include "dns_responder.hpp"

#include <hutch/error.hpp>

#include "error_of.hpp"

#include <sys/mount.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <fstream>
#include <sstream>
#include <thread>

namespace hutch::subcontainer::test {
namespace {

std::string host_file(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

using hutch::test::code_of;
using ParityTest = RuntimeTest;

TEST_F(ParityTest, AWriteBeyondMaxFileBytesFailsWithEfbigAndTheWriterLives) {
  SandboxSpec spec;
  spec.max_file_bytes = 1u << 20;
  auto sandbox = backend_->create(spec);
  ExecResult result = sh(*sandbox, "head -c 3000000 /dev/zero > /tmp/big; echo status=$?; wc -c < /tmp/big");
  EXPECT_EQ(result.signal, 0) << "SIGXFSZ must not kill the writer";
  EXPECT_EQ(result.exit_code, 0) << result.stderr_data;
  EXPECT_NE(result.stdout_data.find("status=1"), std::string::npos) << result.stdout_data;
  EXPECT_NE(result.stdout_data.find("1048576"), std::string::npos) << result.stdout_data;
  EXPECT_NE(result.stderr_data.find("too large"), std::string::npos) << result.stderr_data;

  sandbox->destroy();
}

TEST_F(ParityTest, OnTheHostNetworkResolvConfAndHostsAreTheHosts) {
  SandboxSpec spec;
  spec.network = NetworkMode::host;
  auto sandbox = backend_->create(spec);
  const std::string resolv = host_file("/etc/resolv.conf");
  ASSERT_FALSE(resolv.empty()) << "the host has no /etc/resolv.conf to compare with";
  EXPECT_EQ(sandbox->fs().read("/etc/resolv.conf"), resolv);
  EXPECT_EQ(run(*sandbox, {"cat", "/etc/resolv.conf"}).stdout_data, resolv);
  EXPECT_EQ(run(*sandbox, {"cat", "/etc/hosts"}).stdout_data, host_file("/etc/hosts"));
  sandbox->destroy();
}

// The sandbox is made from a thread with a mount namespace of its own, where /etc/resolv.conf
// names the test's server on 127.0.0.1: the helper copies that file, and the query reaches
// the test's responder over loopback (the host network is the host's loopback too).
TEST_F(ParityTest, ANameResolvesThroughTheResolverTheHostNames) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "root (a DNS server on port 53, a bind mount)");
  hutch::test::DnsResponder dns("sandbox-dns.hutch.test", "10.77.0.9");
  const auto resolv = state_dir_ / "resolv.conf";
  std::ofstream(resolv) << "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n";
  ExecResult result;
  std::string setup_error;
  std::thread maker([&] {
    try {
      if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
          ::mount(resolv.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0)
        throw std::runtime_error(std::string("test setup: private resolv.conf: ") + std::strerror(errno));
      SandboxSpec spec;
      spec.network = NetworkMode::host;
      auto sandbox = backend_->create(spec);
      result = run(*sandbox, {"getent", "hosts", "sandbox-dns.hutch.test"});
      sandbox->destroy();
    } catch (const std::exception& e) {
      setup_error = e.what();
    }
  });
  maker.join();
  ASSERT_TRUE(setup_error.empty()) << setup_error;
  EXPECT_EQ(result.exit_code, 0) << result.stderr_data;
  EXPECT_NE(result.stdout_data.find("10.77.0.9"), std::string::npos) << result.stdout_data;
  EXPECT_GT(dns.queries(), 0);
}

TEST_F(ParityTest, TheEphemeralWorkspaceIsTheDefaultWorkingDirectory) {
  auto sandbox = backend_->create(SandboxSpec{});
  EXPECT_EQ(run(*sandbox, {"pwd"}).stdout_data, "/workspace\n");
  EXPECT_EQ(sh(*sandbox, "echo hi > /workspace/f && cat /workspace/f").stdout_data, "hi\n");

  SandboxSpec none;
  none.workspace = kWorkspaceNone;
  auto bare = backend_->create(none);
  EXPECT_EQ(run(*bare, {"pwd"}).stdout_data, "/\n");
  EXPECT_FALSE(bare->fs().exists("/workspace"));

  // A read-only root keeps a writable workspace; -w still wins.
  SandboxSpec read_only;
  read_only.read_only_root = true;
  read_only.workdir = "/tmp";
  auto locked = backend_->create(read_only);
  EXPECT_EQ(run(*locked, {"pwd"}).stdout_data, "/tmp\n");
  ExecResult write = sh(*locked, "echo x > /workspace/f && cat /workspace/f && ! touch /etc/nope 2>/dev/null");
  EXPECT_EQ(write.exit_code, 0) << write.stderr_data;
  for (auto* s : {&sandbox, &bare, &locked}) (*s)->destroy();
}

TEST_F(ParityTest, APersistentWorkspaceOutlivesItsSandboxAndIsListedAndRemoved) {
  SandboxSpec spec;
  spec.workspace = "project-ws";
  auto first = backend_->create(spec);
  ASSERT_EQ(sh(*first, "echo kept > /workspace/data").exit_code, 0);

  auto volumes = backend_->volumes();
  ASSERT_EQ(volumes.size(), 1u);
  EXPECT_EQ(volumes[0].name, "project-ws");
  EXPECT_EQ(volumes[0].used_by, std::vector<std::string>{first->id()});
  EXPECT_EQ(code_of([&] { backend_->remove_volume("project-ws"); }), Errc::state);

  first->destroy();
  auto second = backend_->create(spec);
  EXPECT_EQ(run(*second, {"cat", "/workspace/data"}).stdout_data, "kept\n");
  second->destroy();

  EXPECT_TRUE(backend_->volumes().front().used_by.empty());
  backend_->remove_volume("project-ws");
  EXPECT_TRUE(backend_->volumes().empty());
  EXPECT_EQ(code_of([&] { backend_->remove_volume("project-ws"); }), Errc::not_found);
  EXPECT_EQ(code_of([&] { backend_->remove_volume("../x"); }), Errc::invalid_argument);
}

}  // namespace
}  // namespace hutch::subcontainer::test
