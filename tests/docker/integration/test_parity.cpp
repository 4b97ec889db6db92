// Issue 14 on the docker backend: max_file_bytes (EFBIG through the agent; the Fs refusal is in
// the conformance suite),
// SandboxSpec::workspace (a persistent named volume listed and removed through
// SandboxBackend::volumes / remove_volume, refused while in use), workspace none.
#include "docker_fixture.hpp"
#include "error_of.hpp"

#include <algorithm>
#include <functional>

namespace hutch::docker::test {
namespace {

using hutch::test::code_of;
using ParityTest = DockerTest;

const VolumeInfo* find_volume(const std::vector<VolumeInfo>& volumes, const std::string& name) {
  auto found = std::find_if(volumes.begin(), volumes.end(), [&](const VolumeInfo& v) { return v.name == name; });
  return found == volumes.end() ? nullptr : &*found;
}

TEST_F(ParityTest, AWriteBeyondMaxFileBytesFailsWithEfbigAndTheWriterLives) {
  SandboxSpec spec = base_spec();
  spec.max_file_bytes = 1u << 20;
  auto sandbox = create(spec);
  ExecRequest request;
  request.argv = {"sh", "-c", "head -c 3000000 /dev/zero > /tmp/big; echo status=$?; wc -c < /tmp/big"};
  ExecResult result = sandbox->exec(request);
  EXPECT_EQ(result.signal, 0) << "SIGXFSZ must not kill the writer";
  EXPECT_EQ(result.exit_code, 0) << result.stderr_data;
  EXPECT_NE(result.stdout_data.find("status=1"), std::string::npos) << result.stdout_data;
  EXPECT_NE(result.stdout_data.find("1048576"), std::string::npos) << result.stdout_data;

}

TEST_F(ParityTest, APersistentWorkspaceOutlivesItsSandboxAndIsListedAndRemoved) {
  const std::string name = std::string(kPersistentVolumePrefix) + "parity-" + test_run_id();
  SandboxSpec spec = base_spec();
  spec.workspace = name;
  auto first = backend_->create(spec);
  ExecRequest write;
  write.argv = {"sh", "-c", "echo kept > /workspace/data && pwd"};
  ExecResult wrote = first->exec(write);
  ASSERT_EQ(wrote.exit_code, 0) << wrote.stderr_data;

  const VolumeInfo* listed = nullptr;
  auto volumes = backend_->volumes();
  listed = find_volume(volumes, name);
  ASSERT_NE(listed, nullptr) << "the named workspace is not in volumes()";
  EXPECT_EQ(listed->used_by, std::vector<std::string>{first->id()});
  EXPECT_EQ(code_of([&] { backend_->remove_volume(name); }), Errc::state);

  first->destroy();
  auto second = backend_->create(spec);
  ExecRequest read;
  read.argv = {"cat", "/workspace/data"};
  EXPECT_EQ(second->exec(read).stdout_data, "kept\n");
  second->destroy();

  volumes = backend_->volumes();
  listed = find_volume(volumes, name);
  ASSERT_NE(listed, nullptr);
  EXPECT_TRUE(listed->used_by.empty());
  backend_->remove_volume(name);
  EXPECT_EQ(find_volume(backend_->volumes(), name), nullptr);
  EXPECT_EQ(code_of([&] { backend_->remove_volume(name); }), Errc::not_found);
}

TEST_F(ParityTest, WorkspaceNoneMountsNothing) {
  SandboxSpec spec = base_spec();
  spec.workspace = kWorkspaceNone;
  auto sandbox = create(spec);
  EXPECT_FALSE(sandbox->fs().exists("/workspace"));
}

}  // namespace
}  // namespace hutch::docker::test
