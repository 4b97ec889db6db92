// hutch::resolve_defaults and hutch::command_argv: `docker run`'s rules for an image's
// Entrypoint, Cmd, Env, WorkingDir and User, shared by every backend.
#include <hutch/error.hpp>
#include <hutch/image_defaults.hpp>
#include <hutch/spec_json.hpp>

#include <gtest/gtest.h>

namespace hutch {
namespace {

using Argv = std::vector<std::string>;

ImageDefaults image() { return {{"/entry", "-x"}, {"default-arg"}, {{"A", "image"}, {"B", "image"}}, "/srv", "app"}; }

ExecRequest through_entrypoint(Argv argv) {
  ExecRequest request;
  request.argv = std::move(argv);
  request.use_entrypoint = true;
  return request;
}

TEST(ImageDefaults, TheImagesApplyWhereTheSpecSaysNothing) {
  EXPECT_EQ(resolve_defaults(image(), SandboxSpec{}), image());
}

TEST(ImageDefaults, TheSpecWins) {
  SandboxSpec spec;
  spec.env = {{"B", "spec"}, {"C", "spec"}};
  spec.workdir = "/work";
  spec.user = "0";
  const ImageDefaults resolved = resolve_defaults(image(), spec);
  EXPECT_EQ(resolved.env, (Env{{"A", "image"}, {"B", "spec"}, {"C", "spec"}}));
  EXPECT_EQ(resolved.workdir, "/work");
  EXPECT_EQ(resolved.user, "0");
  EXPECT_EQ(resolved.entrypoint, image().entrypoint);
  EXPECT_EQ(resolved.cmd, image().cmd);
}

TEST(ImageDefaults, AnEntrypointOverrideDropsTheCmd) {
  SandboxSpec spec;
  spec.entrypoint = Argv{"/other"};
  EXPECT_EQ(resolve_defaults(image(), spec).entrypoint, Argv{"/other"});
  EXPECT_TRUE(resolve_defaults(image(), spec).cmd.empty());
  spec.entrypoint = Argv{};
  EXPECT_TRUE(resolve_defaults(image(), spec).entrypoint.empty()) << "--entrypoint \"\" clears it";
}

TEST(ImageDefaults, CommandArgvAsDockerRunAndDockerExec) {
  EXPECT_EQ(command_argv(through_entrypoint({}), image(), "sb"), (Argv{"/entry", "-x", "default-arg"}));
  EXPECT_EQ(command_argv(through_entrypoint({"mine"}), image(), "sb"), (Argv{"/entry", "-x", "mine"}));
  ExecRequest plain;
  plain.argv = {"ls"};
  EXPECT_EQ(command_argv(plain, image(), "sb"), Argv{"ls"}) << "exec does not use the entrypoint";
  const ImageDefaults cmd_only{{}, {"sh"}, {}, "", ""};
  EXPECT_EQ(command_argv(through_entrypoint({}), cmd_only, "sb"), Argv{"sh"});
  EXPECT_EQ(command_argv(through_entrypoint({"ls"}), cmd_only, "sb"), Argv{"ls"});
}

TEST(ImageDefaults, NothingToRunNamesTheSandbox) {
  try {
    command_argv(through_entrypoint({}), ImageDefaults{}, "sb-7");
    FAIL() << "no error for an empty command";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument);
    EXPECT_NE(std::string(error.what()).find("sb-7"), std::string::npos) << error.what();
  }
}

TEST(ImageDefaults, JsonRoundTripAndSpecEntrypoint) {
  EXPECT_EQ(defaults_from_json(defaults_to_json(image())), image());
  EXPECT_THROW(defaults_from_json("not json"), Error);
  SandboxSpec spec;
  spec.entrypoint = Argv{};
  EXPECT_EQ(spec_from_json(spec_to_json(spec)).entrypoint, Argv{}) << "an empty entrypoint is not unset";
  EXPECT_FALSE(spec_from_json(spec_to_json(SandboxSpec{})).entrypoint.has_value());
}

}  // namespace
}  // namespace hutch
