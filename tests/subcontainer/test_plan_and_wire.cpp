// The data that crosses process boundaries: the helper's setup plan and the control protocol.
#include "plan_writer.hpp"
#include "agent/wire.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

using namespace hutch::subcontainer;
namespace wire = hutch::agent::wire;

TEST(SubcontainerPlan, RendersOneLinePerStepInOrder) {
  SetupPlan plan;
  plan.id = "abc";
  plan.hostname = "hutch-abc";
  plan.outside_uid = 100000;
  plan.outside_gid = 100000;
  plan.id_count = 65536;
  plan.root = "/s/root";
  plan.upper = "/s/upper";
  plan.work = "/s/work";
  plan.lower = {{"/img/top", {}, {}}, {"/img/base", {}, {}}};
  plan.binds = {{"/usr", "/usr", true, false}, {"/data/f", "/etc/f", false, true}};
  plan.tmpfs = {{"/scratch", 1048576, false}};
  plan.socket = "/s/ctl.sock";
  plan.keep_caps = {0, 1};
  std::string text = render_plan(plan);
  EXPECT_NE(text.find("uid_map\t0\t100000\t65536\n"), std::string::npos) << text;
  EXPECT_NE(text.find("setgroups\tallow\n"), std::string::npos);
  EXPECT_NE(text.find("network\tnone\n"), std::string::npos);
  EXPECT_LT(text.find("lower\t/img/top"), text.find("lower\t/img/base")) << "lower dirs keep their order";
  EXPECT_LT(text.find("bind\t/usr\t/usr\t1\t0"), text.find("bind\t/data/f\t/etc/f\t0\t1"));
  EXPECT_NE(text.find("tmpfs\t/scratch\t1048576\t0\n"), std::string::npos);
  EXPECT_NE(text.find("keep_cap\t1\n"), std::string::npos);
}

TEST(SubcontainerPlan, IdmappedBindCarriesTheMountsMapFromDiskToSandboxIds) {
  SetupPlan plan;
  plan.outside_uid = 100000;
  PlanBind bind{"/data", "/data", false, false};
  bind.idmap = hutch::IdMap{0, 1000, 1};  // host 1000 on disk is root (0) inside
  plan.binds = {bind};
  std::string text = render_plan(plan);
  EXPECT_NE(text.find("bind\t/data\t/data\t0\t0\t1000\t100000\t1\n"), std::string::npos) << text;
}

TEST(SubcontainerPlan, StoredLayersAreIdmappedFromTheStoreRangeOntoTheSandboxsRange) {
  SetupPlan plan;
  plan.outside_uid = plan.outside_gid = 1000065536;
  plan.lower = {{"/store/a/rootfs", "/s/lower/0", hutch::IdMap{0, 1000000000, 65536}},
                {"/rootfs-dir", "/s/lower/1", std::nullopt}};
  std::string text = render_plan(plan);
  EXPECT_NE(text.find("lower\t/store/a/rootfs\t/s/lower/0\t1000000000\t1000065536\t65536\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("lower\t/rootfs-dir\t/s/lower/1\t0\t0\t0\n"), std::string::npos) << text;
}

TEST(SubcontainerPlan, RootlessDeniesSetgroupsAndHostNetworkIsKept) {
  SetupPlan plan;
  plan.rootless = true;
  plan.network = hutch::NetworkMode::host;
  std::string text = render_plan(plan);
  EXPECT_NE(text.find("setgroups\tdeny\n"), std::string::npos);
  EXPECT_NE(text.find("network\thost\n"), std::string::npos);
}

TEST(SubcontainerPlan, RefusesPathsWithTabsOrNewlines) {
  SetupPlan plan;
  plan.binds = {{"/a\tb", "/x", false, false}};
  try {
    render_plan(plan);
    FAIL() << "a TAB in a bind source was accepted";
  } catch (const hutch::Error& e) {
    EXPECT_EQ(e.code(), hutch::Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("TAB or newline"), std::string::npos) << e.what();
  }
}

TEST(SubcontainerWire, EncodeDecodeRoundTrip) {
  wire::ExecMessage message{{"sh", "-c", "echo 'a b'"}, {"A=1", "EMPTY="}, "/work", "1000:1000"};
  wire::ExecMessage decoded;
  ASSERT_TRUE(wire::decode(wire::encode(message), decoded));
  EXPECT_EQ(decoded.argv, message.argv);
  EXPECT_EQ(decoded.env, message.env);
  EXPECT_EQ(decoded.cwd, "/work");
  EXPECT_EQ(decoded.user, "1000:1000");
}

TEST(SubcontainerWire, LaunchRoundTripAndFdCount) {
  wire::ExecMessage message{{"serve"}, {}, "/", ""};
  EXPECT_EQ(wire::request_fd_count(message), 3);
  message.launch = true;
  message.stop_grace_ms = 2500;
  message.log_limit = 1u << 20;
  wire::ExecMessage decoded;
  ASSERT_TRUE(wire::decode(wire::encode(message), decoded));
  EXPECT_TRUE(decoded.launch);
  EXPECT_EQ(decoded.stop_grace_ms, 2500u);
  EXPECT_EQ(decoded.log_limit, 1u << 20);
  EXPECT_EQ(wire::request_fd_count(decoded), 4);
}

TEST(SubcontainerWire, TtyRoundTripCarriesNoFds) {
  wire::ExecMessage message{{"sh"}, {}, "/", ""};
  message.tty = true;
  message.tty_cols = 132;
  message.tty_rows = 43;
  wire::ExecMessage decoded;
  ASSERT_TRUE(wire::decode(wire::encode(message), decoded));
  EXPECT_TRUE(decoded.tty);
  EXPECT_EQ(decoded.tty_cols, 132);
  EXPECT_EQ(decoded.tty_rows, 43);
  EXPECT_EQ(wire::request_fd_count(decoded), 0) << "the agent makes the terminal";
  wire::ExecMessage bad_size;
  EXPECT_FALSE(wire::decode(std::string("ash\0y80\0", 8), bad_size)) << "a size without rows";
  message.launch = true;
  wire::ExecMessage launch_with_tty;
  EXPECT_FALSE(wire::decode(wire::encode(message), launch_with_tty)) << "a main command has no terminal";
}

// A connect request (Handle::connect_port through the agent) is its port alone, with no fds.
TEST(SubcontainerWire, ConnectRequestIsItsPortAlone) {
  wire::ExecMessage message;
  message.connect_port = 8089;
  wire::ExecMessage decoded;
  ASSERT_TRUE(wire::decode(wire::encode(message), decoded));
  EXPECT_EQ(decoded.connect_port, 8089u);
  EXPECT_TRUE(decoded.argv.empty());
  EXPECT_EQ(wire::request_fd_count(decoded), 0);
  wire::ExecMessage zero, too_big, with_argv;
  EXPECT_FALSE(wire::decode(std::string("p0\0", 3), zero)) << "port 0";
  EXPECT_FALSE(wire::decode(std::string("p65536\0", 7), too_big)) << "port above 65535";
  EXPECT_FALSE(wire::decode(std::string("p80\0ash\0", 8), with_argv)) << "a connect request with a command";
}

TEST(SubcontainerWire, RejectsMalformedPayloads) {
  wire::ExecMessage decoded;
  EXPECT_FALSE(wire::decode(std::string("ash", 3), decoded)) << "unterminated token";
  wire::ExecMessage unknown;
  EXPECT_FALSE(wire::decode(std::string("zx\0", 3), unknown)) << "unknown key";
  wire::ExecMessage no_argv;
  EXPECT_FALSE(wire::decode(std::string("c/\0", 3), no_argv)) << "no argv";
}
