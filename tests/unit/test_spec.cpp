#include <hutch/error.hpp>
#include <hutch/service_labels.hpp>
#include <hutch/spec.hpp>

#include "error_of.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>

namespace hutch {
namespace {

using namespace std::chrono_literals;

template <class Fn>
std::string invalid_argument_message(Fn&& fn) {
  return test::message_of(Errc::invalid_argument, std::forward<Fn>(fn));
}

Mount tmpfs_at(const std::string& target) {
  Mount m;
  m.type = MountType::tmpfs;
  m.target = target;
  return m;
}

Mount volume(const std::string& name, const std::string& target) {
  Mount m;
  m.type = MountType::volume;
  m.source = name;
  m.target = target;
  return m;
}

// --- validate(SandboxSpec) -------------------------------------------------------------------

TEST(ValidateSpec, AcceptsAFullValidSpec) {
  SandboxSpec spec;
  spec.image = "busybox:latest";
  spec.env = {{"PATH", "/bin"}, {"EMPTY", ""}};
  spec.workdir = "/work";
  spec.user = "1000:1000";
  spec.mounts = {volume("data", "/data"), tmpfs_at("/tmp")};
  spec.limits.memory_bytes = 512u << 20;
  spec.limits.cpus = 1.5;
  spec.limits.pids = 128;
  spec.labels = {{"team", "a"}};
  spec.ttl = 1h;
  spec.idle_timeout = 10min;
  spec.network = NetworkMode::bridge;
  spec.ports = {PortMapping{.sandbox_port = 8080}, PortMapping{"0.0.0.0", 9090, 90, PortProtocol::udp}};
  EXPECT_NO_THROW(validate(spec));
}

// The service's labels are the only hutch.* ones a spec may carry (it sets them on create).
TEST(ValidateSpec, AcceptsTheServiceLabels) {
  SandboxSpec spec;
  spec.labels[kLabelService] = "0123456789abcdef";
  spec.labels[kLabelTenant] = "alice";
  EXPECT_NO_THROW(validate(spec));
}

TEST(ValidateSpec, AcceptsDomainsAndWildcardsAsEgressDestinations) {
  for (const char* destination : {"example.com", "*.example.com", "Good.Test", "a-b.c1.io", "*.test"})
    EXPECT_EQ(egress_destination_problem(destination), std::nullopt) << destination;
  // One word is no domain rule: more often a mistyped "all" than a name (and no search domains).
  EXPECT_NE(egress_destination_problem("everything"), std::nullopt);
}

TEST(ValidateSpec, NamesTheFieldThatIsWrong) {
  struct Case {
    const char* what;
    void (*change)(SandboxSpec&);
    const char* message;
  };
  const Case cases[] = {
      {"relative workdir", [](SandboxSpec& s) { s.workdir = "work"; },
       "workdir must be absolute, got 'work'"},
      {"empty env key", [](SandboxSpec& s) { s.env[""] = "x"; }, "env key is empty"},
      {"env key with =", [](SandboxSpec& s) { s.env["A=B"] = "x"; }, "env key 'A=B' contains '='"},
      {"env key with NUL", [](SandboxSpec& s) { s.env[std::string("A\0B", 3)] = "x"; },
       "env key contains a NUL byte"},
      {"egress destination that is no address nor domain",
       [](SandboxSpec& s) {
         s.network = NetworkMode::bridge;
         s.egress = {{EgressAction::allow, "10.0.0.0/8"}, {EgressAction::deny, "exa_mple.com"}};
       },
       "egress rule 2 (deny): 'exa_mple.com' is not \"all\", an IP address, a network like 10.0.0.0/8 or "
       "2001:db8::/32, or a domain like example.com or *.example.com"},
      {"egress domain with a wildcard inside",
       [](SandboxSpec& s) {
         s.network = NetworkMode::bridge;
         s.egress = {{EgressAction::allow, "a.*.example.com"}};
       },
       "egress rule 1 (allow): 'a.*.example.com': '*' may only be the whole first label, as in *.example.com"},
      {"egress domain with an empty label",
       [](SandboxSpec& s) {
         s.network = NetworkMode::bridge;
         s.egress = {{EgressAction::deny, "all"}, {EgressAction::allow, "example..com"}};
       },
       "egress rule 2 (allow): 'example..com': empty label (a leading, trailing or double '.')"},
      {"egress domain label ending in '-'",
       [](SandboxSpec& s) {
         s.network = NetworkMode::bridge;
         s.egress = {{EgressAction::allow, "good-.test"}};
       },
       "egress rule 1 (allow): 'good-.test': the label 'good-' starts or ends with '-'"},
      {"egress address mistyped as a name",
       [](SandboxSpec& s) {
         s.network = NetworkMode::bridge;
         s.egress = {{EgressAction::allow, "*.10.0.1"}};
       },
       "egress rule 1 (allow): '*.10.0.1' is neither an IP address nor a domain (its last label is a number)"},
      {"egress network with host bits",
       [](SandboxSpec& s) {
         s.network = NetworkMode::bridge;
         s.egress = {{EgressAction::allow, "10.1.2.3/8"}};
       },
       "egress rule 1 (allow): '10.1.2.3/8' has bits set past its prefix length /8"},
      {"egress prefix too long",
       [](SandboxSpec& s) {
         s.network = NetworkMode::bridge;
         s.egress = {{EgressAction::allow, "2001:db8::/129"}};
       },
       "egress rule 1 (allow): '2001:db8::/129': the prefix length must be 0 to 128"},
      {"egress without a bridge network",
       [](SandboxSpec& s) { s.egress = {{EgressAction::deny, "all"}}; },
       "egress rules (--allow-net, --deny-net) need network \"bridge\"; network is \"none\""},
      {"relative mount target",
       [](SandboxSpec& s) { s.mounts = {volume("a", "/a"), volume("b", "x")}; },
       "mount 2: target must be absolute, got 'x'"},
      {"empty volume source", [](SandboxSpec& s) { s.mounts = {volume("", "/a")}; },
       "mount 1: a volume mount needs a source"},
      {"empty bind source",
       [](SandboxSpec& s) {
         Mount m = volume("", "/a");
         m.type = MountType::bind;
         s.mounts = {m};
       },
       "mount 1: a bind mount needs a source"},
      {"target given twice",
       [](SandboxSpec& s) { s.mounts = {volume("a", "/data"), tmpfs_at("/tmp"), volume("b", "/data/")}; },
       "mount 3: target '/data' is already used by mount 1"},
      {"zero memory", [](SandboxSpec& s) { s.limits.memory_bytes = 0; },
       "limits.memory must be greater than zero"},
      {"zero cpus", [](SandboxSpec& s) { s.limits.cpus = 0; },
       "limits.cpus must be a number greater than zero, got 0"},
      {"negative cpus", [](SandboxSpec& s) { s.limits.cpus = -1; },
       "limits.cpus must be a number greater than zero, got -1"},
      {"zero pids", [](SandboxSpec& s) { s.limits.pids = 0; }, "limits.pids must be greater than zero"},
      {"reserved label", [](SandboxSpec& s) { s.labels["hutch.id"] = "x"; },
       "label 'hutch.id' uses the prefix 'hutch.', which is reserved for hutch's own labels"},
      {"zero ttl", [](SandboxSpec& s) { s.ttl = 0ms; }, "ttl must be greater than zero, got 0s"},
      {"negative idle timeout", [](SandboxSpec& s) { s.idle_timeout = -5s; },
       "idle_timeout must be greater than zero, got -5s"},
      {"host port twice",
       [](SandboxSpec& s) {
         s.network = NetworkMode::bridge;
         s.ports = {PortMapping{"127.0.0.1", 8080, 80}, PortMapping{"0.0.0.0", 8080, 81}};
       },
       "published port 2 (0.0.0.0:8080:81/tcp): host port 8080/tcp is published twice (also by published port 1, "
       "127.0.0.1:8080:80/tcp)"},
      {"ports without a bridge", [](SandboxSpec& s) { s.ports = {PortMapping{.sandbox_port = 80}}; },
       "published port 1 (127.0.0.1:0:80/tcp): publishing ports needs network \"bridge\"; network is \"none\""},
  };
  for (const Case& c : cases) {
    SandboxSpec spec;
    c.change(spec);
    EXPECT_EQ(invalid_argument_message([&] { validate(spec); }), c.message) << c.what;
  }
}

// --- validate(ExecRequest) -------------------------------------------------------------------

TEST(ValidateExec, AcceptsAValidRequest) {
  ExecRequest request;
  request.argv = {"sh", "-c", "true"};
  request.cwd = "/";
  request.env = {{"A", "1"}};
  request.timeout = 5s;
  EXPECT_NO_THROW(validate(request));
}

TEST(ValidateExec, NamesTheFieldThatIsWrong) {
  ExecRequest empty;
  EXPECT_EQ(invalid_argument_message([&] { validate(empty); }),
            "exec: argv is empty: give the command to run");

  ExecRequest relative;
  relative.argv = {"ls"};
  relative.cwd = "tmp";
  EXPECT_EQ(invalid_argument_message([&] { validate(relative); }),
            "exec: cwd must be absolute, got 'tmp'");

  ExecRequest bad_env;
  bad_env.argv = {"ls"};
  bad_env.env["X=Y"] = "1";
  EXPECT_EQ(invalid_argument_message([&] { validate(bad_env); }),
            "exec: env key 'X=Y' contains '='");

  ExecRequest zero_timeout;
  zero_timeout.argv = {"ls"};
  zero_timeout.timeout = 0ms;
  EXPECT_EQ(invalid_argument_message([&] { validate(zero_timeout); }),
            "exec: timeout must be greater than zero, got 0s");
}

// --- parse_mount / format_mount --------------------------------------------------------------

TEST(ParseMount, ReadsEveryOption) {
  Mount m = parse_mount(
      "type=bind,src=/srv/data,dst=/data,ro,kind=dir,subpath=sub/dir,idmap=0:100000:65536");
  EXPECT_EQ(m.type, MountType::bind);
  EXPECT_EQ(m.source, "/srv/data");
  EXPECT_EQ(m.target, "/data");
  EXPECT_TRUE(m.read_only);
  EXPECT_EQ(m.kind, MountKind::directory);
  EXPECT_EQ(m.subpath, "sub/dir");
  ASSERT_TRUE(m.idmap.has_value());
  EXPECT_EQ(*m.idmap, (IdMap{0, 100000, 65536}));
  EXPECT_FALSE(m.tmpfs_size_bytes.has_value());
}

TEST(ParseMount, AcceptsAliasesAndDefaults) {
  Mount m = parse_mount("source=cache,destination=/cache,readonly,kind=file");
  EXPECT_EQ(m.type, MountType::volume);  // the default type
  EXPECT_EQ(m.source, "cache");
  EXPECT_EQ(m.target, "/cache");
  EXPECT_TRUE(m.read_only);
  EXPECT_EQ(m.kind, MountKind::file);

  Mount t = parse_mount("type=tmpfs,target=/tmp,size=64m");
  EXPECT_EQ(t.type, MountType::tmpfs);
  EXPECT_TRUE(t.source.empty());
  EXPECT_EQ(t.tmpfs_size_bytes, 64u << 20);
  EXPECT_FALSE(t.read_only);

  EXPECT_FALSE(parse_mount("src=a,dst=/a,ro=false").read_only);
}

TEST(ParseMount, RejectsBadTextNamingTheProblem) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"type=volume,src=a", "mount 'type=volume,src=a': dst (the target inside the sandbox) is missing"},
      {"src=a,dst=rel", "mount 'src=a,dst=rel': target must be absolute, got 'rel'"},
      {"type=nfs,src=a,dst=/a",
       "mount 'type=nfs,src=a,dst=/a': mount type 'nfs' is not one of: volume, bind, tmpfs, "
       "assets, pointer, backup"},
      {"src=a,dst=/a,colour=red",
       "mount 'src=a,dst=/a,colour=red': unknown option 'colour' (accepted: type, src (source), dst "
       "(target, destination), ro (readonly), kind, subpath, idmap, size)"},
      {"src=a,dst=/a,dst=/b", "mount 'src=a,dst=/a,dst=/b': option 'dst' is given twice"},
      {"src=a,target=/a,dst=/b", "mount 'src=a,target=/a,dst=/b': option 'dst' is given twice"},
      {"src=a,dst=/a,", "mount 'src=a,dst=/a,': empty option (two commas in a row, or a trailing comma)"},
      {"src,dst=/a", "mount 'src,dst=/a': option 'src' needs a value (src=...)"},
      {"dst=/a", "mount 'dst=/a': a volume mount needs a source"},
      {"type=bind,src=rel,dst=/a",
       "mount 'type=bind,src=rel,dst=/a': a bind source must be an absolute host path, got 'rel'"},
      {"type=tmpfs,src=x,dst=/t", "mount 'type=tmpfs,src=x,dst=/t': a tmpfs mount takes no source, got 'x'"},
      {"src=a,dst=/a,size=1m", "mount 'src=a,dst=/a,size=1m': size applies to tmpfs mounts only"},
      {"type=tmpfs,dst=/t,size=0", "mount 'type=tmpfs,dst=/t,size=0': tmpfs size must be greater than zero"},
      {"src=a,dst=/a,kind=pipe", "mount 'src=a,dst=/a,kind=pipe': kind must be file or dir, got 'pipe'"},
      {"src=a,dst=/a,ro=maybe", "mount 'src=a,dst=/a,ro=maybe': ro must be true or false, got 'maybe'"},
      {"src=a,dst=/a,subpath=../x",
       "mount 'src=a,dst=/a,subpath=../x': subpath must be relative and stay inside the source, got '../x'"},
      {"src=a,dst=/a,idmap=0:1",
       "mount 'src=a,dst=/a,idmap=0:1': idmap must be FROM:TO:RANGE (e.g. 0:100000:65536), got '0:1'"},
      {"src=a,dst=/a,idmap=0:x:1",
       "mount 'src=a,dst=/a,idmap=0:x:1': idmap TO 'x' is not a number from 0 to 4294967295"},
      {"src=a,dst=/a,idmap=0:1:0", "mount 'src=a,dst=/a,idmap=0:1:0': idmap range must be greater than zero"},
      {"src=a,dst=/", "mount 'src=a,dst=/': target must not be '/'"},
  };
  for (const Case& c : cases)
    EXPECT_EQ(invalid_argument_message([&] { parse_mount(c.text); }), c.message) << c.text;
}

TEST(ParseMount, ReportsABadSizeWithTheUnitsMessage) {
  std::string message = invalid_argument_message([] { parse_mount("type=tmpfs,dst=/t,size=big"); });
  EXPECT_EQ(message.rfind("mount 'type=tmpfs,dst=/t,size=big': size 'big' is not a number: expected", 0),
            0u)
      << message;
}

TEST(FormatMount, RoundTripsThroughParseMount) {
  Mount full;
  full.type = MountType::bind;
  full.source = "/srv/data";
  full.target = "/data";
  full.read_only = true;
  full.kind = MountKind::file;
  full.subpath = "a/b";
  full.idmap = IdMap{0, 100000, 65536};

  Mount tmp = tmpfs_at("/tmp");
  tmp.tmpfs_size_bytes = 96u << 20;

  Mount pointer = volume("other", "/other");
  pointer.type = MountType::pointer;
  pointer.kind = MountKind::directory;

  for (const Mount& m : {full, tmp, pointer, volume("v", "/v")}) {
    std::string text = format_mount(m);
    EXPECT_EQ(parse_mount(text), m) << text;
  }
  EXPECT_EQ(format_mount(full),
            "type=bind,src=/srv/data,dst=/data,ro,kind=file,subpath=a/b,idmap=0:100000:65536");
  EXPECT_EQ(format_mount(tmp), "type=tmpfs,dst=/tmp,size=96m");
}

TEST(FormatMount, RefusesWhatTheSyntaxCannotCarry) {
  EXPECT_EQ(invalid_argument_message([] { format_mount(volume("a,b", "/a")); }),
            "mount source 'a,b' contains ',', which the mount syntax cannot express");
}

// --- parse_key_value / merge_defaults --------------------------------------------------------

TEST(ParseKeyValue, SplitsAtTheFirstEquals) {
  EXPECT_EQ(parse_key_value("A=1", "env"), (std::pair<std::string, std::string>{"A", "1"}));
  EXPECT_EQ(parse_key_value("A=b=c", "env"), (std::pair<std::string, std::string>{"A", "b=c"}));
  EXPECT_EQ(parse_key_value("A=", "env"), (std::pair<std::string, std::string>{"A", ""}));
  EXPECT_EQ(invalid_argument_message([] { parse_key_value("A", "env"); }),
            "env 'A' must look like KEY=VALUE");
  EXPECT_EQ(invalid_argument_message([] { parse_key_value("=1", "label"); }),
            "label '=1' has an empty key");
}

TEST(MergeDefaults, FillsOnlyUnsetFields) {
  SandboxSpec defaults;
  defaults.image = "busybox";
  defaults.workdir = "/work";
  defaults.user = "1000";
  defaults.env = {{"A", "default"}, {"B", "default"}};
  defaults.limits.memory_bytes = 1u << 30;
  defaults.limits.cpus = 2;
  defaults.limits.pids = 64;
  defaults.ttl = 1h;
  defaults.network = NetworkMode::bridge;
  defaults.read_only_root = true;

  SandboxSpec spec;
  spec.image = "alpine";
  spec.env = {{"A", "mine"}};
  spec.limits.pids = 8;

  SandboxSpec merged = merge_defaults(spec, defaults);
  EXPECT_EQ(merged.image, "alpine");
  EXPECT_EQ(merged.workdir, "/work");
  EXPECT_EQ(merged.user, "1000");
  EXPECT_EQ(merged.env, (Env{{"A", "mine"}, {"B", "default"}}));
  EXPECT_EQ(merged.limits.memory_bytes, 1u << 30);
  EXPECT_EQ(merged.limits.cpus, 2.0);
  EXPECT_EQ(merged.limits.pids, 8u);
  EXPECT_EQ(merged.ttl, 1h);
  // Network and read-only root come from the spec, never from the defaults.
  EXPECT_EQ(merged.network, NetworkMode::none);
  EXPECT_FALSE(merged.read_only_root);
}

}  // namespace
}  // namespace hutch
