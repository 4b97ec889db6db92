// The verbs a backend may lack: each either works as the contract says, or — when
// capabilities() says it is missing — fails with Errc::unsupported.
#include "fixture.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace hutch::conformance {
namespace {

HUTCH_CONFORMANCE_SUITE(OptionalVerbs);

TEST_P(OptionalVerbs, ForkMakesAnIndependentCopy) {
  auto source = create();
  if (!caps().fork) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { track(source->fork()); }));
    return;
  }
  make_work_dir(*source);
  source->fs().write(work_path("shared"), "before fork", 0600);

  auto copy = track(source->fork());
  ASSERT_NE(copy->id(), source->id());
  EXPECT_EQ(copy->fs().read(work_path("shared")), "before fork");
  EXPECT_EQ(copy->fs().stat(work_path("shared")).mode, 0600u);

  copy->fs().write(work_path("shared"), "changed in the copy");
  source->fs().write(work_path("only-in-source"), "x");
  EXPECT_EQ(source->fs().read(work_path("shared")), "before fork");
  EXPECT_FALSE(copy->fs().exists(work_path("only-in-source")));

  ExecResult result = run(*copy, cmd().cat_file(work_path("shared")));
  EXPECT_EQ(result.stdout_data, "changed in the copy") << result.stderr_data;
  EXPECT_EQ(copy->info().state, SandboxState::running);
}

// set_egress: the rules of a bridge sandbox change (the bridge tests of each backend check the
// traffic); a sandbox of another network refuses rules, naming its network, and keeps none;
// bad destinations are refused. Errc::unsupported without capabilities().set_egress.
TEST_P(OptionalVerbs, SetEgressRefusesRulesForANonBridgeSandbox) {
  auto sandbox = create();
  const std::vector<EgressRule> deny_all{{EgressAction::deny, "all"}};
  if (!caps().set_egress) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { sandbox->set_egress(deny_all); }));
    return;
  }
  ASSERT_NE(sandbox->spec().network, NetworkMode::bridge);
  try {
    sandbox->set_egress(deny_all);
    ADD_FAILURE() << "rules for a sandbox of network " << to_string(sandbox->spec().network) << " were accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
    EXPECT_NE(std::string(error.what()).find("bridge"), std::string::npos) << error.what();
  }
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { sandbox->set_egress({{EgressAction::allow, "not-an-address"}}); }));
  sandbox->set_egress({});  // no rules: the default, whatever the network
  EXPECT_TRUE(sandbox->spec().egress.empty());
  if (caps().persistent) EXPECT_TRUE(backend().resume(sandbox->id())->spec().egress.empty());
}

// Published ports (SandboxSpec::ports, Handle::ports): a sandbox that publishes nothing has no
// bindings; publishing needs network "bridge" and is refused elsewhere naming it. Without
// capabilities().ports both the spec and the verb are Errc::unsupported. (The traffic through
// a published port is checked by each backend's own bridge tests, which may change the host's
// network: the docker and podman suites, and subcontainer's in a namespace of their own.)
TEST_P(OptionalVerbs, PortsAreEmptyWithoutPublishingAndPublishingNeedsABridge) {
  SandboxSpec publishing = base_spec();
  publishing.network = NetworkMode::bridge;
  publishing.ports = {PortMapping{.sandbox_port = 8090}};
  auto sandbox = create();
  if (!caps().ports) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { sandbox->ports(); }));
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { track(backend().create(publishing)); }));
    return;
  }
  EXPECT_TRUE(sandbox->ports().empty());
  ASSERT_NE(sandbox->spec().network, NetworkMode::bridge);
  publishing.network = sandbox->spec().network;
  try {
    track(backend().create(publishing));
    ADD_FAILURE() << "ports published on network " << to_string(publishing.network) << " were accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
    EXPECT_NE(std::string(error.what()).find("bridge"), std::string::npos) << error.what();
  }
}

// connect_port: a socket to a server inside the sandbox, made from within its network (so it
// works whatever the spec's network is), or Errc::unsupported.
TEST_P(OptionalVerbs, ConnectPortReachesAServerInsideTheSandbox) {
  auto sandbox = create();
  if (!caps().connect_port) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { ::close(sandbox->connect_port(8089)); }));
    return;
  }
  EXPECT_TRUE(throws_errc(Errc::io, [&] { ::close(sandbox->connect_port(8089)); }));  // nothing listens yet
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { ::close(sandbox->connect_port(0)); }));
  ExecRequest request;
  request.argv = cmd().serve_once(8089, "hello from inside");
  auto server = sandbox->spawn(request);
  // The first connection that is accepted is the server's one connection.
  int socket = -1;
  for (int attempt = 0; attempt < 200 && socket < 0; ++attempt) {
    try {
      socket = sandbox->connect_port(8089);
    } catch (const Error& error) {
      if (error.code() != Errc::io) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  ASSERT_GE(socket, 0) << "the server in the sandbox never accepted";
  const std::string sent = "from the host\n";
  ASSERT_EQ(::write(socket, sent.data(), sent.size()), static_cast<ssize_t>(sent.size()));
  std::string greeting;
  char buffer[256];
  while (greeting.find('\n') == std::string::npos) {
    const ssize_t got = ::read(socket, buffer, sizeof buffer);
    if (got <= 0) break;
    greeting.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(socket);
  EXPECT_EQ(greeting, "hello from inside\n");
  std::string received;
  while (auto chunk = server->read_output())
    if (chunk->stream == StreamId::stdout_stream) received += chunk->data;
  server->wait();
  EXPECT_EQ(received, sent);
}

// pull_image needs a registry, which the suite does not assume: a name that is no image name
// must be refused before any request (or the verb is unsupported).
TEST_P(OptionalVerbs, PullImageRefusesAMalformedNameBeforeAskingAnyRegistry) {
  const bool refused = throws_errc(Errc::invalid_argument, [&] { backend().pull_image("Not//A Name", {}); });
  const bool unsupported = throws_errc(Errc::unsupported, [&] { backend().pull_image("Not//A Name", {}); });
  EXPECT_TRUE(refused || unsupported);
}

// The image verbs come together or not at all. Where they exist: an unknown image is
// not_found for inspect and rm, and the image a sandbox is made from (when the store holds
// it: "host" or a directory is none of its images) lists that sandbox and refuses rm.
TEST_P(OptionalVerbs, ImageVerbsAllOrNothingAndNoRemovalUnderASandbox) {
  const std::string unknown = "hutch-conformance-no-such-image:0";
  if (throws_errc(Errc::unsupported, [&] { backend().images(); })) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { backend().inspect_image(unknown); }));
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { backend().remove_image(unknown); }));
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { backend().prune_images(); }));
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { backend().import_image("/nonexistent", unknown); }));
    return;
  }
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { backend().inspect_image(unknown); }));
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { backend().remove_image(unknown); }));
  auto sandbox = create();
  const std::string image = base_spec().image;
  if (image.empty() || throws_errc(Errc::not_found, [&] { backend().inspect_image(image); })) return;
  const ImageInfo info = backend().inspect_image(image);
  EXPECT_TRUE(std::find(info.used_by.begin(), info.used_by.end(), sandbox->id()) != info.used_by.end())
      << "inspect_image(" << image << ").used_by lacks sandbox " << sandbox->id();
  EXPECT_TRUE(throws_errc(Errc::state, [&] { backend().remove_image(image); }))
      << "remove_image of the image sandbox " << sandbox->id() << " is made from";
  EXPECT_NO_THROW(backend().inspect_image(image)) << "the image is gone after a refused remove_image";
}

TEST_P(OptionalVerbs, SnapshotAndRestore) {
  auto source = create();
  if (!caps().snapshot) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { source->snapshot("conformance"); }));
    EXPECT_TRUE(throws_errc(Errc::unsupported,
                            [&] { track(backend().restore("no-such-snapshot", base_spec())); }));
    return;
  }
  make_work_dir(*source);
  source->fs().write(work_path("state"), "at snapshot time");
  // The workspace too, wherever the backend keeps it (docker: a volume, which a commit leaves out).
  const bool has_workspace = source->fs().exists(kWorkspaceTarget);
  const std::string workspace_file = std::string(kWorkspaceTarget) + "/conformance-state";
  if (has_workspace) source->fs().write(workspace_file, "workspace at snapshot time");
  SnapshotInfo snapshot = source->snapshot("conformance");
  track_snapshot(snapshot.id);
  ASSERT_FALSE(snapshot.id.empty());
  EXPECT_EQ(snapshot.label, "conformance");
  EXPECT_EQ(snapshot.source_sandbox, source->id());
  source->fs().write(work_path("state"), "after snapshot");

  auto all = backend().snapshots();
  EXPECT_TRUE(std::any_of(all.begin(), all.end(), [&](const auto& s) { return s.id == snapshot.id; }));

  auto restored = track(backend().restore(snapshot.id, base_spec()));
  EXPECT_NE(restored->id(), source->id());
  EXPECT_EQ(restored->fs().read(work_path("state")), "at snapshot time");
  EXPECT_EQ(source->fs().read(work_path("state")), "after snapshot");
  if (has_workspace) EXPECT_EQ(restored->fs().read(workspace_file), "workspace at snapshot time");

  backend().delete_snapshot(snapshot.id);
  all = backend().snapshots();
  EXPECT_FALSE(std::any_of(all.begin(), all.end(), [&](const auto& s) { return s.id == snapshot.id; }));
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { track(backend().restore(snapshot.id, base_spec())); }));
}

TEST_P(OptionalVerbs, PauseAndUnpause) {
  auto sandbox = create();
  if (!caps().pause) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { sandbox->pause(); }));
    return;
  }
  sandbox->pause();
  EXPECT_EQ(sandbox->info().state, SandboxState::paused);
  sandbox->unpause();
  EXPECT_EQ(sandbox->info().state, SandboxState::running);
  ExecResult result = run(*sandbox, cmd().print_stdout("awake"));
  EXPECT_EQ(result.stdout_data, "awake\n") << result.stderr_data;
}

TEST_P(OptionalVerbs, Stats) {
  auto sandbox = create();
  if (!caps().stats) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { sandbox->stats(); }));
    return;
  }
  Stats stats;
  ASSERT_NO_THROW(stats = sandbox->stats());
  EXPECT_GE(stats.cpu_percent, 0.0);
  if (stats.memory_limit_bytes) {
    EXPECT_GT(*stats.memory_limit_bytes, 0u);
  }
}

}  // namespace
}  // namespace hutch::conformance
