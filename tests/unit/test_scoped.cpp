// ScopedSandbox and with_temp_sandbox (include/hutch/scoped.hpp), on the fake backend.
#include "fake_backend.hpp"
#include "temp_dir.hpp"

#include <hutch/hutch.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace hutch {
namespace {

class ScopedTest : public ::testing::Test {
 protected:
  ScopedTest() : backend_(fake::make_fake_backend({.root = dir_.path() / "state"})) {}
  bool alive(const std::string& id) {
    for (const auto& info : backend_->list())
      if (info.id == id) return true;
    return false;
  }

  test::TempDir dir_;
  std::shared_ptr<SandboxBackend> backend_;
};

TEST_F(ScopedTest, WithTempSandboxDestroysItWhenTheBodyThrows) {
  std::string id;
  EXPECT_THROW(with_temp_sandbox(*backend_, SandboxSpec{},
                                 [&](Handle& sandbox) {
                                   id = sandbox.id();
                                   throw std::runtime_error("boom");
                                 }),
               std::runtime_error);
  ASSERT_FALSE(id.empty());
  EXPECT_FALSE(alive(id));
}

TEST_F(ScopedTest, WithTempSandboxReturnsTheBodysValueAndDestroys) {
  std::string id;
  std::string out = with_temp_sandbox(*backend_, SandboxSpec{}, [&](Handle& sandbox) {
    id = sandbox.id();
    ExecRequest request;
    request.argv = {"echo", "inside"};
    return sandbox.exec(request).stdout_data;
  });
  EXPECT_EQ(out, "inside\n");
  EXPECT_FALSE(alive(id));
}

TEST_F(ScopedTest, ReleaseKeepsTheSandbox) {
  std::shared_ptr<Handle> kept;
  {
    ScopedSandbox scoped(*backend_, SandboxSpec{});
    kept = scoped.release();
  }
  EXPECT_TRUE(alive(kept->id()));
}

TEST_F(ScopedTest, MoveAssignmentDestroysTheSandboxItReplaces) {
  ScopedSandbox first(*backend_, SandboxSpec{});
  ScopedSandbox second(*backend_, SandboxSpec{});
  std::string first_id = first->id();
  std::string second_id = second->id();
  first = std::move(second);
  EXPECT_FALSE(alive(first_id));
  EXPECT_TRUE(alive(second_id));
  EXPECT_EQ(first->id(), second_id);
}

// A sandbox whose destroy fails: the scope must still end without throwing.
class UndestroyableHandle final : public Handle {
 public:
  std::string id() const override { return "undestroyable"; }
  SandboxSpec spec() const override { return {}; }
  SandboxInfo info() override { return {}; }
  ExecResult exec(const ExecRequest&) override { return {}; }
  std::unique_ptr<Process> spawn(const ExecRequest&) override { return nullptr; }
  Fs& fs() override { throw Error(Errc::unsupported, "no fs"); }
  void destroy() override {
    ++destroy_calls;
    throw Error(Errc::backend, "engine is down");
  }
  int destroy_calls = 0;

 protected:
  std::string backend_name() const override { return "test"; }
};

TEST_F(ScopedTest, DestroyErrorsDoNotEscapeTheScope) {
  auto handle = std::make_shared<UndestroyableHandle>();
  EXPECT_NO_THROW({ ScopedSandbox scoped(handle); });
  EXPECT_EQ(handle->destroy_calls, 1);
}

}  // namespace
}  // namespace hutch
