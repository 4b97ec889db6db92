// fork, snapshot/restore, pause, stats, ports, security settings, workspaces, config policies.
#include "docker_fixture.hpp"
#include "containers.hpp"
#include "error_of.hpp"
#include "images.hpp"
#include "labels.hpp"
#include "snapshot_workspace.hpp"
#include "engine/query.hpp"
#include "tcp_client.hpp"
#include "temp_dir.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace hutch::docker::test {
namespace {

TEST_F(DockerTest, ForkCopiesRootfsAndWorkspaceThenDiverges) {
  auto source = create();
  source->fs().write("/etc/marker", "from source");
  source->fs().write("/workspace/notes", "workspace content");
  auto fork = source->fork();
  adopt(fork);
  EXPECT_NE(fork->id(), source->id());
  EXPECT_EQ(fork->fs().read("/etc/marker"), "from source");
  EXPECT_EQ(fork->fs().read("/workspace/notes"), "workspace content");
  fork->fs().write("/etc/marker", "changed in fork");
  EXPECT_EQ(source->fs().read("/etc/marker"), "from source");
  EXPECT_EQ(fork->spec().env, source->spec().env);

  std::string fork_image = fork->info().labels.at(label::kForkImage);
  EXPECT_TRUE(image_exists(*backend_->context(), fork_image));
  fork->destroy();
  EXPECT_FALSE(image_exists(*backend_->context(), fork_image)) << "the fork image outlived its sandbox";
}

TEST_F(DockerTest, SnapshotRestoreList) {
  auto source = create();
  source->fs().write("/etc/state", "v1");
  auto snapshot = source->snapshot("before-change");
  source->fs().write("/etc/state", "v2");
  auto listed = backend_->snapshots();
  auto found = std::find_if(listed.begin(), listed.end(), [&](const SnapshotInfo& s) { return s.id == snapshot.id; });
  ASSERT_NE(found, listed.end());
  EXPECT_EQ(found->label, "before-change");
  EXPECT_EQ(found->source_sandbox, source->id());

  auto restored = backend_->restore(snapshot.id, base_spec());
  adopt(restored);
  EXPECT_EQ(restored->fs().read("/etc/state"), "v1");
  std::string image_id(inspect_container(*backend_->context(), restored->id()).at("Image").as_string());
  ASSERT_TRUE(image_exists(*backend_->context(), image_id));
  // Deleting a snapshot in use only untags it; its image goes with the last sandbox on it.
  backend_->delete_snapshot(snapshot.id);
  EXPECT_EQ(restored->fs().read("/etc/state"), "v1");
  restored->destroy();
  EXPECT_FALSE(image_exists(*backend_->context(), image_id)) << "the deleted snapshot's image leaked";
  listed = backend_->snapshots();
  EXPECT_TRUE(std::none_of(listed.begin(), listed.end(), [&](const SnapshotInfo& s) { return s.id == snapshot.id; }));
  try {
    backend_->restore(snapshot.id, base_spec());
    FAIL() << "restored a deleted snapshot";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
  }
}

// docker commit leaves volumes out; a snapshot keeps the /workspace volume beside its image.
TEST_F(DockerTest, SnapshotKeepsTheWorkspace) {
  Context& context = *backend_->context();
  const auto volume_exists = [&](const std::string& name) {
    Request request;
    request.target = "/volumes/" + name;
    request.what = "inspect volume " + name;
    try {
      context.client->call(request);
      return true;
    } catch (const Error& error) {
      if (error.code() != Errc::not_found) throw;
      return false;
    }
  };
  // This snapshot's copy containers only: other tests restore snapshots at the same time.
  const auto copy_containers = [&](const std::string& snapshot_id) {
    Request request;
    request.target = Target("/containers/json")
                         .add("all", true)
                         .add("filters", filters_json({{"label", {"hutch.kind=workspace-copy",
                                                                  std::string(kSnapshotOfVolumeLabel) + "=" + snapshot_id}}}))
                         .str();
    request.what = "list workspace copy containers";
    return context.client->call_json(request).as_array().size();
  };
  auto source = create();
  source->fs().write("/workspace/kept", "v1");
  source->fs().mkdir("/workspace/dir/sub", true);
  source->fs().write("/workspace/dir/sub/deep", "deep");
  auto snapshot = source->snapshot("with-workspace");
  const std::string volume = snapshot_workspace_volume(snapshot.id);
  EXPECT_TRUE(volume_exists(volume));
  source->fs().write("/workspace/kept", "v2");
  source->fs().write("/workspace/after", "not in the snapshot");

  auto restored = backend_->restore(snapshot.id, base_spec());
  adopt(restored);
  EXPECT_EQ(restored->fs().read("/workspace/kept"), "v1");
  EXPECT_EQ(restored->fs().read("/workspace/dir/sub/deep"), "deep");
  EXPECT_FALSE(restored->fs().exists("/workspace/after"));
  EXPECT_EQ(source->fs().read("/workspace/kept"), "v2");
  // A second restore gets the same content: the snapshot's volume is copied, not handed over.
  restored->fs().write("/workspace/kept", "changed in the restored sandbox");
  auto again = backend_->restore(snapshot.id, base_spec());
  adopt(again);
  EXPECT_EQ(again->fs().read("/workspace/kept"), "v1");
  EXPECT_EQ(copy_containers(snapshot.id), 0u) << "a container made to reach the snapshot's volume was left";

  backend_->delete_snapshot(snapshot.id);
  EXPECT_FALSE(volume_exists(volume)) << "the deleted snapshot's workspace volume leaked";

  // A workspace volume whose snapshot is gone (an interrupted delete) is pruned.
  const std::string orphan = snapshot_workspace_volume("snap-gone-" + std::to_string(::getpid()));
  create_volume(context, orphan,
                {{kLabelManaged, "true"}, {label::kKind, kSnapshotWorkspaceKind}, {kSnapshotOfVolumeLabel, "snap-gone"}});
  backend_->prune(Filter{});
  EXPECT_FALSE(volume_exists(orphan)) << "prune kept a workspace volume without its snapshot";
}

TEST_F(DockerTest, RestoreDoesNotInheritTheSourcesLabels) {
  auto source = create();
  auto fork = source->fork();
  adopt(fork);
  std::string fork_image = fork->info().labels.at(label::kForkImage);
  auto snapshot = fork->snapshot("of-a-fork");
  auto spec = base_spec();
  spec.labels["hutch-test"] = "restored-elsewhere";
  auto restored = backend_->restore(snapshot.id, spec);
  adopt(restored);
  auto labels = restored->info().labels;
  EXPECT_EQ(labels.at("hutch-test"), "restored-elsewhere");
  EXPECT_EQ(labels.count(label::kForkImage), 0u) << "the restored sandbox claims the fork's image";
  EXPECT_EQ(labels.count(label::kKind), 0u);
  restored->destroy();
  EXPECT_TRUE(image_exists(*backend_->context(), fork_image)) << "destroying the restored sandbox removed the fork image";
  backend_->delete_snapshot(snapshot.id);
}

TEST_F(DockerTest, PauseUnpauseAndStats) {
  auto spec = base_spec();
  spec.limits.memory_bytes = 64u << 20;
  spec.limits.pids = 50;
  auto sandbox = create(spec);
  sandbox->pause();
  EXPECT_EQ(sandbox->info().state, SandboxState::paused);
  try {
    sandbox->exec(ExecRequest{{"true"}});
    FAIL() << "exec worked in a paused sandbox";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::state) << e.what();
  }
  sandbox->unpause();
  EXPECT_EQ(sh(*sandbox, "echo back").stdout_data, "back\n");
  auto stats = sandbox->stats();
  EXPECT_GT(stats.memory_bytes, 0u);
  ASSERT_TRUE(stats.memory_limit_bytes);
  EXPECT_EQ(*stats.memory_limit_bytes, 64u << 20);
  EXPECT_GE(stats.pids, 1u);
  EXPECT_GT(stats.cpu_usage_ns, 0u);
  // A paused sandbox is destroyed too.
  sandbox->pause();
  sandbox->destroy();
  EXPECT_TRUE(backend_->list(this_run("PauseUnpauseAndStats")).empty());
}

// `docker pause` from another process freezes the agent too, which would then take a request
// and answer only after the unpause: a command fails at once instead.
TEST_P(DockerBothPathsTest, CommandsInASandboxPausedElsewhereFailFast) {
  auto sandbox = create();
  auto engine = [&](const std::string& verb) { engine_post(sandbox->id(), verb); };
  EXPECT_EQ(sh(*sandbox, "echo before").stdout_data, "before\n");
  engine("pause");
  for (const auto& handle : {sandbox, backend_->resume(sandbox->id())}) {
    const auto started = std::chrono::steady_clock::now();
    const std::string message = hutch::test::message_of(Errc::state, [&] { sh(*handle, "echo paused"); });
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
    EXPECT_NE(message.find("paused"), std::string::npos) << message;
    EXPECT_NE(message.find("unpause"), std::string::npos) << message;
  }
  engine("unpause");
  EXPECT_EQ(sh(*sandbox, "echo after").stdout_data, "after\n");
}

// A pause in the middle of a command freezes it and whatever would end it at its timeout.
// Through the exec API the kill helper cannot start in a paused container: a clear
// Errc::state at the deadline. Through the agent, the frozen agent takes the kill only after
// the unpause: the result (timed_out) comes then.
TEST_P(DockerBothPathsTest, TimeoutOfACommandPausedMidwayIsClear) {
  auto sandbox = create();
  auto engine = [&](const std::string& verb) { engine_post(sandbox->id(), verb); };
  const auto started = std::chrono::steady_clock::now();
  std::jthread pauser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    engine("pause");
    // Unpaused well inside the agent path's 2 s bound for the kill's acknowledgement (from the
    // timeout at 1 s): an engine's unpause can take a few hundred ms under load (Podman).
    std::this_thread::sleep_for(std::chrono::milliseconds(1800));
    engine("unpause");
  });
  ExecRequest request;
  request.argv = {"sleep", "5"};
  request.timeout = std::chrono::seconds(1);
  if (GetParam() == AgentMode::off) {
    const std::string message = hutch::test::message_of(Errc::state, [&] { sandbox->exec(request); });
    EXPECT_NE(message.find("is paused"), std::string::npos) << message;
    EXPECT_EQ(message.find("marker="), std::string::npos) << "quotes the kill helper: " << message;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2000)) << "waited for the unpause";
  } else {
    auto result = sandbox->exec(request);
    EXPECT_TRUE(result.timed_out);
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2050));
  }
  pauser.join();
}

TEST_F(DockerTest, SecurityDefaults) {
  auto sandbox = create();
  auto caps = sh(*sandbox, "grep CapEff /proc/self/status");
  EXPECT_EQ(caps.stdout_data, "CapEff:\t0000000000000000\n");
  auto nnp = sh(*sandbox, "grep NoNewPrivs /proc/self/status");
  EXPECT_EQ(nnp.stdout_data, "NoNewPrivs:\t1\n");
  auto seccomp = sh(*sandbox, "grep '^Seccomp:' /proc/self/status");
  EXPECT_EQ(seccomp.stdout_data, "Seccomp:\t2\n");
  auto network = sh(*sandbox, "ls /sys/class/net");
  EXPECT_EQ(network.stdout_data, "lo\n") << "network none has only loopback";
}

TEST_F(DockerTest, ReadOnlyRootWithWritableTmp) {
  auto spec = base_spec();
  spec.read_only_root = true;
  auto sandbox = create(spec);
  EXPECT_NE(sh(*sandbox, "touch /etc/x").exit_code, 0);
  EXPECT_EQ(sh(*sandbox, "touch /tmp/x /run/x /var/tmp/x /workspace/x").exit_code, 0);
}

// A server in the sandbox that greets every connection on `port` (busybox nc serves one each).
ExecRequest greeter(std::uint16_t port, const std::string& greeting) {
  ExecRequest serve;
  serve.argv = {"sh", "-c", "while true; do echo " + greeting + " | nc -l -p " + std::to_string(port) + "; done"};
  return serve;
}

// --publish 8080 (docker -p 127.0.0.1::8080): the engine picks the host port, ports() says
// which, and it answers on 127.0.0.1 only; after destroy nothing does.
TEST_F(DockerTest, PublishedPortAnswersOnLoopbackOnly) {
  auto spec = base_spec();
  spec.network = NetworkMode::bridge;
  spec.ports = {PortMapping{.sandbox_port = 8080}};
  auto sandbox = create(spec);
  auto ports = sandbox->ports();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].sandbox_port, 8080);
  EXPECT_EQ(ports[0].host_address, "127.0.0.1");
  EXPECT_EQ(ports[0].protocol, PortProtocol::tcp);
  ASSERT_NE(ports[0].host_port, 0);
  auto server = sandbox->spawn(greeter(8080, "hello-from-sandbox"));
  EXPECT_EQ(hutch::test::tcp_exchange_when_up("127.0.0.1", ports[0].host_port), "hello-from-sandbox\n");
  // Another address of this host (loopback too, so the test's packets stay here) has nothing.
  EXPECT_TRUE(hutch::test::tcp_refused("127.0.0.2", ports[0].host_port));
  server->kill();
  sandbox->destroy();
  EXPECT_TRUE(hutch::test::tcp_refused("127.0.0.1", ports[0].host_port)) << "the host port is held after destroy";
}

// A fixed host port and a UDP port: bound as asked, reported in the spec's order.
TEST_F(DockerTest, PublishedFixedHostPortAndUdpPortAreReportedInOrder) {
  auto spec = base_spec();
  spec.network = NetworkMode::bridge;
  const std::uint16_t fixed = hutch::test::free_tcp_port();
  spec.ports = {PortMapping{"127.0.0.1", fixed, 8080}, PortMapping{"127.0.0.1", 0, 5353, PortProtocol::udp}};
  auto sandbox = create(spec);
  auto ports = sandbox->ports();
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0], (PortBinding{8080, "127.0.0.1", fixed, PortProtocol::tcp}));
  EXPECT_EQ(ports[1].sandbox_port, 5353);
  EXPECT_EQ(ports[1].protocol, PortProtocol::udp);
  EXPECT_NE(ports[1].host_port, 0);
  auto server = sandbox->spawn(greeter(8080, "fixed"));
  EXPECT_EQ(hutch::test::tcp_exchange_when_up("127.0.0.1", fixed), "fixed\n");
  server->kill();
}

TEST_F(DockerTest, EnvPassthroughAndBlock) {
  ::setenv("HUTCH_PASS_ME", "yes", 1);
  ::setenv("HUTCH_PASS_SECRET", "no", 1);
  DockerConfig config;
  config.env_passthrough = {"HUTCH_PASS_*"};
  config.env_block = {"*SECRET*"};
  auto backend = make_backend(config);
  auto sandbox = create(base_spec(), backend.get());
  EXPECT_EQ(sh(*sandbox, "echo ${HUTCH_PASS_ME:-unset} ${HUTCH_PASS_SECRET:-unset}").stdout_data, "yes unset\n");
}

TEST_F(DockerTest, BindMountsOnlyUnderAllowedPrefixes) {
  const hutch::test::TempDir dir("hutch-bind-it-");
  { std::ofstream(dir / "host.txt") << "from host"; }
  auto spec = base_spec();
  spec.mounts = {Mount{MountType::bind, dir.path().string(), "/host", true}};
  try {
    backend_->create(spec);
    ADD_FAILURE() << "a bind mount without bind_allow was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::permission_denied) << e.what();
  }
  DockerConfig config;
  config.bind_allow = {dir.path().string()};
  auto backend = make_backend(config);
  auto sandbox = create(spec, backend.get());
  EXPECT_EQ(sandbox->fs().read("/host/host.txt"), "from host");
  EXPECT_NE(sh(*sandbox, "touch /host/x").exit_code, 0) << "read-only bind was writable";
}

TEST_F(DockerTest, PersistentWorkspaceOutlivesTheSandbox) {
  auto spec = base_spec();
  const std::string volume = kPersistentVolumePrefix + random_hex(6);
  spec.labels[label::kUserWorkspace] = "persistent";
  spec.labels[label::kUserWorkspaceName] = volume;
  auto first = create(spec);
  first->fs().write("/workspace/kept", "still here");
  first->destroy();
  auto second = create(spec);
  EXPECT_EQ(second->fs().read("/workspace/kept"), "still here");
  second->destroy();
  // Removed here; should the test stop earlier, the leak guard finds it by its name.
  Request remove;
  remove.method = Method::delete_;
  remove.target = "/volumes/" + volume;
  backend_->context()->client->call(remove);
}

TEST_F(DockerTest, EphemeralWorkspaceIsRemovedWithTheSandbox) {
  auto sandbox = create();
  std::string volume = sandbox->info().labels.at(label::kWorkspaceVolume);
  sandbox->destroy();
  Request inspect;
  inspect.target = "/volumes/" + volume;
  try {
    backend_->context()->client->call(inspect);
    FAIL() << "volume " << volume << " outlived its sandbox";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
  }
}

}  // namespace
}  // namespace hutch::docker::test
