#include <hutch/config.hpp>
#include <hutch/error.hpp>

#include "error_of.hpp"
#include "host_files.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>

namespace hutch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The message of the Errc::config error `fn` throws; fails the test if it throws none.
template <class Fn>
std::string config_error(Fn&& fn) {
  return test::message_of(Errc::config, std::forward<Fn>(fn));
}

std::string parse_error(const std::string& text) {
  return config_error([&] { parse_config(text, "t.toml"); });
}

using test::TempDir;

// Sets (or unsets, with nullopt) an environment variable and restores it at scope exit.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value->c_str(), 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Changes the working directory and restores it at scope exit.
class ScopedCwd {
 public:
  explicit ScopedCwd(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~ScopedCwd() {
    std::error_code ec;
    fs::current_path(old_, ec);
  }
  ScopedCwd(const ScopedCwd&) = delete;
  ScopedCwd& operator=(const ScopedCwd&) = delete;

 private:
  fs::path old_;
};

using test::write_file;

// --- reading a full file -------------------------------------------------------------------

TEST(ParseConfig, ReadsEveryKey) {
  Config c = parse_config(R"(
[defaults]
backend = "docker"
image = "busybox:latest"
workdir = "/work"
user = "1000:1000"
memory = "512m"
cpus = 1.5
pids = 256
network = "bridge"
read_only = true
timeout = "30s"
log_level = "debug"
state_dir = "/srv/hutch"
ttl = "1d"
idle_timeout = 600

[defaults.env]
LANG = "C.UTF-8"
PATH = "/bin"

[plugins]
paths = ["/opt/hutch/plugins", "plugins"]

[backends.docker]
host = "unix:///run/docker.sock"

[backends.subcontainer]
seccomp = false
)",
                          "t.toml");
  EXPECT_EQ(c.source, "t.toml");
  EXPECT_EQ(c.backend, "docker");
  EXPECT_EQ(c.defaults.image, "busybox:latest");
  EXPECT_EQ(c.defaults.workdir, "/work");
  EXPECT_EQ(c.defaults.user, "1000:1000");
  EXPECT_EQ(c.defaults.limits.memory_bytes, 512u << 20);
  EXPECT_EQ(c.defaults.limits.cpus, 1.5);
  EXPECT_EQ(c.defaults.limits.pids, 256u);
  EXPECT_EQ(c.defaults.network, NetworkMode::bridge);
  EXPECT_TRUE(c.defaults.read_only_root);
  EXPECT_EQ(c.exec_timeout, 30s);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.state_dir, "/srv/hutch");
  EXPECT_EQ(c.defaults.ttl, 24h);
  EXPECT_EQ(c.defaults.idle_timeout, 10min);
  EXPECT_EQ(c.defaults.env, (Env{{"LANG", "C.UTF-8"}, {"PATH", "/bin"}}));
  EXPECT_EQ(c.plugin_paths, (std::vector<std::string>{"/opt/hutch/plugins", "plugins"}));

  ASSERT_EQ(c.backends.size(), 2u);
  EXPECT_EQ(c.backends[0].first, "docker");  // file order
  EXPECT_EQ(c.backends[1].first, "subcontainer");
  ConfigTable docker = c.backend_table("docker");
  EXPECT_EQ(docker.path(), "backends.docker");
  EXPECT_EQ(docker.get_string("host"), "unix:///run/docker.sock");
  EXPECT_NO_THROW(docker.reject_unknown_keys());
  EXPECT_EQ(c.backend_table("subcontainer").get_bool("seccomp"), false);
  EXPECT_TRUE(c.backend_table("other").empty());
}

TEST(ParseConfig, AnEmptyDocumentGivesTheBuiltInDefaults) {
  Config c = parse_config("", "empty.toml");
  Config builtin;
  EXPECT_EQ(c.backend, builtin.backend);
  EXPECT_EQ(c.defaults, builtin.defaults);
  EXPECT_EQ(c.exec_timeout, builtin.exec_timeout);
  EXPECT_EQ(c.log_level, builtin.log_level);
  EXPECT_EQ(c.state_dir, builtin.state_dir);
  EXPECT_TRUE(c.plugin_paths.empty());
  EXPECT_TRUE(c.backends.empty());
}

// Issue 14: what used to be [backends.docker] keys is read from [defaults] for every backend.
TEST(ParseConfig, ReadsTheFilesWorkspaceEnvAndImageDefaults) {
  Config c = parse_config(R"(
[defaults]
max_file_bytes = "100m"
workspace = "proj"
env_passthrough = ["LANG", "LC_*"]
env_block = ["LC_SECRET"]
[defaults.image_map]
python = "py:3.12"
default = "base:1"
)",
                          "t.toml");
  EXPECT_EQ(c.defaults.max_file_bytes, std::uint64_t{100} << 20);
  EXPECT_EQ(c.defaults.workspace, "proj");
  EXPECT_EQ(c.env_policy.passthrough, (std::vector<std::string>{"LANG", "LC_*"}));
  EXPECT_EQ(c.env_policy.block, std::vector<std::string>{"LC_SECRET"});
  EXPECT_EQ(c.image_map.select("", {"python3.11", "x.py"}), "py:3.12");
  EXPECT_EQ(c.image_map.select("", {"sh"}), "base:1");

  EXPECT_NE(parse_error("[defaults]\nworkspace = \"../x\"\n").find("t.toml:2"), std::string::npos);
  EXPECT_NE(parse_error("[defaults]\nmax_file_bytes = \"0\"\n").find("greater than zero"), std::string::npos);
  EXPECT_NE(parse_error("[defaults.image_map]\npython = \"\"\n").find("non-empty image"), std::string::npos);
}

// The shipped, annotated file must say exactly what the built-in defaults are.
TEST(ParseConfig, TheShippedFileEqualsTheBuiltInDefaults) {
  const fs::path file = fs::path(HUTCH_SOURCE_DIR) / "conf" / "hutch.toml";
  Config shipped = load_config_file(file);
  Config builtin;
  EXPECT_EQ(shipped.source, file.string());
  EXPECT_EQ(shipped.backend, builtin.backend);
  EXPECT_EQ(shipped.defaults, builtin.defaults);
  EXPECT_EQ(shipped.exec_timeout, builtin.exec_timeout);
  EXPECT_EQ(shipped.log_level, builtin.log_level);
  EXPECT_EQ(shipped.state_dir, builtin.state_dir);
  EXPECT_EQ(shipped.plugin_paths, builtin.plugin_paths);
  EXPECT_TRUE(shipped.backends.empty());
}

// The backend examples in the shipped file are commented out; with the "# " removed from their
// headers and settings they must be valid TOML giving each bundled backend its table.
TEST(ParseConfig, TheShippedBackendExamplesParseWhenUncommented) {
  const fs::path file = fs::path(HUTCH_SOURCE_DIR) / "conf" / "hutch.toml";
  std::ifstream in(file);
  ASSERT_TRUE(in) << "cannot read " << file;
  const std::regex example(R"(^# (\[(backends|defaults)[.a-z_]*\]|[a-z_]+ = ))");
  std::string text;
  bool in_examples = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# [backends.", 0) == 0 || line.rfind("# [defaults.image_map]", 0) == 0) in_examples = true;
    // [serve] (read by `hutch serve`, not parse_config) and its tables are not examples here.
    if (line.rfind("# [serve", 0) == 0) in_examples = false;
    if (in_examples && std::regex_search(line, example)) line.erase(0, 2);
    text += line + "\n";
  }
  Config c = parse_config(text, file.string() + " (examples uncommented)");
  ASSERT_EQ(c.backends.size(), 3u);
  EXPECT_EQ(c.backends[0].first, "subcontainer");
  EXPECT_EQ(c.backends[1].first, "docker");
  EXPECT_EQ(c.backends[2].first, "remote");
  EXPECT_EQ(c.backend_table("subcontainer").get_int("uid_base", 0, 1ll << 32), 1000000000);
  EXPECT_EQ(c.backend_table("docker").get_string("pull"), "missing");
  // The image map moved to [defaults.image_map] (issue 14), for every backend.
  EXPECT_FALSE(c.backend_table("docker").get_table("image_map").has_value());
  EXPECT_EQ(c.image_map.select("", {"python3", "app.py"}), "python:3.12-slim");
  EXPECT_EQ(c.image_map.select("", {"sh"}), "busybox:latest");
}

// --- the exact messages ----------------------------------------------------------------------

TEST(ConfigErrors, UnknownKeyNamesPositionAndSuggestsTheClosestKey) {
  EXPECT_EQ(parse_error("[defaults]\nimage = \"x\"\nmemroy = \"1g\"\n"),
            "t.toml:3:1: defaults.memroy: unknown key (did you mean 'memory'?)");
  EXPECT_EQ(parse_error("[defaults]\n  colour = \"red\"\n"),
            "t.toml:2:3: defaults.colour: unknown key");
  EXPECT_EQ(parse_error("[plugins]\npath = [\"/x\"]\n"),
            "t.toml:2:1: plugins.path: unknown key (did you mean 'paths'?)");
}

TEST(ConfigErrors, UnknownTopLevelTableOrKey) {
  EXPECT_EQ(parse_error("[defualts]\nimage = \"x\"\n"),
            "t.toml:1:2: defualts: unknown table (did you mean 'defaults'?)");
  EXPECT_EQ(parse_error("verbose = true\n"), "t.toml:1:1: verbose: unknown key");
}

TEST(ConfigErrors, WrongType) {
  EXPECT_EQ(parse_error("[defaults]\nmemory = true\n"),
            "t.toml:2:10: defaults.memory: expected a size like \"512m\" or an integer number of "
            "bytes, got boolean");
  EXPECT_EQ(parse_error("[defaults]\nimage = 5\n"),
            "t.toml:2:9: defaults.image: expected a string, got integer");
  EXPECT_EQ(parse_error("[defaults]\nread_only = \"yes\"\n"),
            "t.toml:2:13: defaults.read_only: expected true or false, got string");
  EXPECT_EQ(parse_error("[defaults]\ntimeout = 1.5\n"),
            "t.toml:2:11: defaults.timeout: expected a duration like \"30s\" or an integer number "
            "of seconds, got floating-point number");
  EXPECT_EQ(parse_error("[defaults]\npids = \"10\"\n"),
            "t.toml:2:8: defaults.pids: expected an integer from 1 to 4194304, got string");
  EXPECT_EQ(parse_error("[plugins]\npaths = \"/x\"\n"),
            "t.toml:2:9: plugins.paths: expected an array of strings, got string");
  EXPECT_EQ(parse_error("[plugins]\npaths = [\"/x\", 3]\n"),
            "t.toml:2:16: plugins.paths[1]: expected a string, got integer");
  EXPECT_EQ(parse_error("defaults = 1\n"), "t.toml:1:12: defaults: expected a table, got integer");
  EXPECT_EQ(parse_error("[defaults.env]\nN = 1\n"),
            "t.toml:2:5: defaults.env.N: expected a string, got integer");
  EXPECT_EQ(parse_error("[backends]\ndocker = \"x\"\n"),
            "t.toml:2:10: backends.docker: expected a table, got string");
}

TEST(ConfigErrors, OutOfRange) {
  EXPECT_EQ(parse_error("[defaults]\npids = 0\n"),
            "t.toml:2:8: defaults.pids: expected an integer from 1 to 4194304, got 0");
  EXPECT_EQ(parse_error("[defaults]\ncpus = 5000\n"),
            "t.toml:2:8: defaults.cpus: expected a number from 0.01 to 1024, got 5000");
  EXPECT_EQ(parse_error("[defaults]\ncpus = nan\n"),
            "t.toml:2:8: defaults.cpus: expected a number from 0.01 to 1024, got nan");
  EXPECT_EQ(parse_error("[defaults]\nmemory = -1\n"),
            "t.toml:2:10: defaults.memory: expected a size, which cannot be negative, got -1");
  EXPECT_EQ(parse_error("[defaults]\nmemory = 0\n"),
            "t.toml:2:10: defaults.memory: expected a size greater than zero, got 0");
  EXPECT_EQ(parse_error("[defaults]\ntimeout = \"0s\"\n"),
            "t.toml:2:11: defaults.timeout: expected a duration greater than zero, got 0s");
}

TEST(ConfigErrors, BadSizeOrDurationText) {
  EXPECT_EQ(parse_error("[defaults]\nmemory = \"lots\"\n"),
            "t.toml:2:10: defaults.memory: expected a size like \"512m\", \"64k\" or \"1.5g\", "
            "got \"lots\"");
  EXPECT_EQ(parse_error("[defaults]\nttl = \"soon\"\n"),
            "t.toml:2:7: defaults.ttl: expected a duration like \"30s\", \"10m\" or \"1h30m\", got "
            "\"soon\"");
}

TEST(ConfigErrors, BadEnumAndPathValues) {
  EXPECT_EQ(parse_error("[defaults]\nnetwork = \"wifi\"\n"),
            "t.toml:2:11: defaults.network: expected one of \"none\", \"host\", \"bridge\", got "
            "\"wifi\"");
  EXPECT_EQ(parse_error("[defaults]\nlog_level = \"loud\"\n"),
            "t.toml:2:13: defaults.log_level: expected one of trace, debug, info, warn, error, "
            "critical, off, got \"loud\"");
  EXPECT_EQ(parse_error("[defaults]\nworkdir = \"work\"\n"),
            "t.toml:2:11: defaults.workdir: expected an absolute path inside the sandbox, got "
            "\"work\"");
  EXPECT_EQ(parse_error("[defaults]\nstate_dir = \"state\"\n"),
            "t.toml:2:13: defaults.state_dir: expected an absolute path, got \"state\"");
  EXPECT_EQ(parse_error("[defaults.env]\n\"A=B\" = \"x\"\n"),
            "t.toml:2:9: defaults.env.A=B: an environment variable name must not be empty or "
            "contain '='");
}

TEST(ConfigErrors, SyntaxErrorCarriesTomlPlusPlusDescription) {
  EXPECT_EQ(parse_error("[defaults\nimage = \"x\"\n"),
            "t.toml:1:10: Error while parsing table header: expected ']', saw '\\n'");
  EXPECT_EQ(parse_error("[defaults]\nimage = \"a\"\nimage = \"b\"\n"),
            "t.toml:3:9: Error while parsing key-value pair: cannot redefine existing string "
            "'image'");
}

// --- ConfigTable on its own ------------------------------------------------------------------

TEST(ConfigTableTest, KeysComeInFileOrderAndCopiesShareWhatWasRead) {
  ConfigTable root = ConfigTable::parse("zeta = 1\nalpha = 2\nmid = 3\n", "k.toml");
  EXPECT_EQ(root.keys(), (std::vector<std::string>{"zeta", "alpha", "mid"}));
  ConfigTable copy = root;
  EXPECT_EQ(copy.get_int("zeta", 0, 10), 1);
  EXPECT_EQ(root.get_int("alpha", 0, 10), 2);
  EXPECT_EQ(config_error([&] { root.reject_unknown_keys(); }), "k.toml:3:1: mid: unknown key");
  EXPECT_EQ(copy.get_double("mid", 0, 10), 3.0);  // an integer is a fine double
  EXPECT_NO_THROW(root.reject_unknown_keys());
}

TEST(ConfigTableTest, SubTablesFetchedTwiceShareWhatWasRead) {
  ConfigTable root = ConfigTable::parse("[a.b]\nx = \"1\"\n", "s.toml");
  EXPECT_EQ(root.get_table("a")->get_table("b")->get_string("x"), "1");
  ConfigTable b = *root.get_table("a")->get_table("b");
  EXPECT_EQ(b.path(), "a.b");
  EXPECT_NO_THROW(b.reject_unknown_keys());
}

TEST(ConfigTableTest, WhereAndFail) {
  ConfigTable root = ConfigTable::parse("[backends.docker]\npull = \"sometimes\"\n", "w.toml");
  ConfigTable docker = *root.get_table("backends")->get_table("docker");
  EXPECT_EQ(docker.where("pull"), "w.toml:2:8");
  EXPECT_EQ(docker.where(), "w.toml:1:1");
  EXPECT_EQ(config_error([&] { docker.fail("pull", "expected missing, always or never"); }),
            "w.toml:2:8: backends.docker.pull: expected missing, always or never");
  EXPECT_EQ(config_error([&] { docker.reject_unknown_keys(); }),
            "w.toml:2:1: backends.docker.pull: unknown key");
}

TEST(ConfigTableTest, BuiltInTableIsEmpty) {
  ConfigTable builtin;
  EXPECT_TRUE(builtin.empty());
  EXPECT_FALSE(builtin.contains("x"));
  EXPECT_EQ(builtin.get_string("x"), std::nullopt);
  EXPECT_EQ(builtin.where("x"), "<built-in>");
  EXPECT_EQ(builtin.path(), "");
  EXPECT_NO_THROW(builtin.reject_unknown_keys());
}

TEST(ConfigTableTest, SizesAndDurationsAcceptIntegers) {
  ConfigTable t = ConfigTable::parse("size = 4096\nwait = 90\n", "n.toml");
  EXPECT_EQ(t.get_size("size"), 4096u);
  EXPECT_EQ(t.get_duration("wait"), 90s);
}

// --- finding the file ------------------------------------------------------------------------

TEST(FindConfigFile, MissingExplicitFileIsAnError) {
  TempDir dir;
  const std::string missing = (dir.path() / "nope.toml").string();
  EXPECT_EQ(config_error([&] { find_config_file(missing); }),
            "config file '" + missing + "' (given with --config) does not exist");
  EXPECT_EQ(config_error([&] { load_config(missing); }),
            "config file '" + missing + "' (given with --config) does not exist");
  EXPECT_EQ(config_error([&] { find_config_file(dir.path().string()); }),
            "config file '" + dir.path().string() + "' (given with --config) is not a regular file");
}

TEST(FindConfigFile, MissingFileFromEnvironmentIsAnError) {
  TempDir dir;
  const std::string missing = (dir.path() / "nope.toml").string();
  ScopedEnv env("HUTCH_CONFIG", missing);
  EXPECT_EQ(config_error([&] { find_config_file(std::nullopt); }),
            "config file '" + missing + "' (from $HUTCH_CONFIG) does not exist");
}

TEST(FindConfigFile, FollowsTheLookupOrder) {
  TempDir dir;
  const fs::path home = dir.path() / "home";
  const fs::path work = dir.path() / "work";
  const fs::path explicit_file = dir.path() / "explicit.toml";
  const fs::path env_file = dir.path() / "env.toml";
  const fs::path cwd_file = work / "hutch.toml";
  const fs::path home_file = home / ".config" / "hutch" / "hutch.toml";
  for (const auto& [file, backend] :
       {std::pair{explicit_file, "explicit"}, std::pair{env_file, "env"},
        std::pair{cwd_file, "cwd"}, std::pair{home_file, "home"}})
    write_file(file, std::string("[defaults]\nbackend = \"") + backend + "\"\n");

  ScopedEnv set_home("HOME", home.string());
  ScopedEnv no_xdg("XDG_CONFIG_HOME", std::nullopt);
  ScopedEnv set_env("HUTCH_CONFIG", env_file.string());
  ScopedCwd in_work(work);

  EXPECT_EQ(find_config_file(explicit_file.string()), explicit_file);
  EXPECT_EQ(load_config(explicit_file.string()).backend, "explicit");
  EXPECT_EQ(find_config_file(std::nullopt), env_file);
  EXPECT_EQ(load_config().backend, "env");

  {
    ScopedEnv no_env("HUTCH_CONFIG", std::nullopt);
    EXPECT_EQ(find_config_file(std::nullopt), fs::current_path() / "hutch.toml");
    EXPECT_EQ(load_config().backend, "cwd");

    fs::remove(cwd_file);
    EXPECT_EQ(find_config_file(std::nullopt), home_file);
    EXPECT_EQ(load_config().backend, "home");
    EXPECT_EQ(load_config().source, home_file.string());

    {
      ScopedEnv xdg("XDG_CONFIG_HOME", (dir.path() / "xdg").string());
      write_file(dir.path() / "xdg" / "hutch" / "hutch.toml", "[defaults]\nbackend = \"xdg\"\n");
      EXPECT_EQ(load_config().backend, "xdg");
    }

    fs::remove(home_file);
    // The last place is /etc/hutch/hutch.toml, which this test cannot own: expect it only if the
    // machine has one; otherwise the built-in defaults.
    const fs::path etc_file = "/etc/hutch/hutch.toml";
    if (fs::is_regular_file(etc_file)) {
      EXPECT_EQ(find_config_file(std::nullopt), etc_file);
    } else {
      EXPECT_EQ(find_config_file(std::nullopt), std::nullopt);
      Config builtin = load_config();
      EXPECT_EQ(builtin.source, "<built-in>");
      EXPECT_EQ(builtin.backend, "subcontainer");
    }
  }
}

TEST(FindConfigFile, ErrorsInTheFileNameTheFile) {
  TempDir dir;
  const fs::path file = dir.path() / "bad.toml";
  write_file(file, "[defaults]\npids = -3\n");
  EXPECT_EQ(config_error([&] { load_config(file.string()); }),
            file.string() + ":2:8: defaults.pids: expected an integer from 1 to 4194304, got -3");
}

// --- state directory -------------------------------------------------------------------------

TEST(DefaultStateDir, IsVarLibForRootAndXdgOtherwise) {
  if (geteuid() != 0) {
    ScopedEnv xdg("XDG_STATE_HOME", "/xdg-state");
    EXPECT_EQ(default_state_dir(), "/xdg-state/hutch");
    ScopedEnv no_xdg("XDG_STATE_HOME", std::nullopt);
    ScopedEnv home("HOME", "/home/someone");
    EXPECT_EQ(default_state_dir(), "/home/someone/.local/state/hutch");
    return;
  }
  EXPECT_EQ(default_state_dir(), "/var/lib/hutch");
}

// As root, check the non-root rule in a child that drops its effective uid.
TEST(DefaultStateDir, NonRootUsesXdgStateHomeOrHome) {
  if (geteuid() != 0) GTEST_SKIP() << "the non-root rule is checked by DefaultStateDir.IsVarLibForRootAndXdgOtherwise when not root";
  pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    int failures = 0;
    if (seteuid(65534) != 0) _exit(100);
    setenv("XDG_STATE_HOME", "/xdg-state", 1);
    failures += default_state_dir() != "/xdg-state/hutch";
    setenv("XDG_STATE_HOME", "relative", 1);  // ignored, as the XDG spec says
    setenv("HOME", "/home/someone", 1);
    failures += default_state_dir() != "/home/someone/.local/state/hutch";
    _exit(failures);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "100: seteuid failed; otherwise the number of wrong paths";
}

}  // namespace
}  // namespace hutch
