// The plugin loader: where it looks, the exact message for each way a plugin is refused
// (tests/plugins builds one broken plugin per way), and how long a library stays loaded.
#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/fork.hpp>
#include <hutch/loader.hpp>
#include <hutch/log.hpp>

#include "error_of.hpp"
#include "scoped_env.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>

namespace {

namespace fs = std::filesystem;

const fs::path kPluginDir = HUTCH_TEST_PLUGIN_DIR;

std::string plugin_file(const std::string& name) {
  return (kPluginDir / ("hutch-" + name + ".so")).string();
}

// Only the directories a test names: no $HUTCH_PLUGIN_PATH, no install directory.
hutch::PluginSearch only(std::vector<std::string> paths) {
  hutch::PluginSearch search;
  search.paths = std::move(paths);
  search.use_env = false;
  search.use_install_dir = false;
  return search;
}

hutch::ExecRequest command(std::vector<std::string> argv) {
  hutch::ExecRequest request;
  request.argv = std::move(argv);
  return request;
}

hutch::PluginContext context_for(const std::string& name) {
  return hutch::PluginContext{name, hutch::ConfigTable{}, hutch::logger(), "/nonexistent/state"};
}

using hutch::test::error_of;

hutch::Error load_error(const std::string& name_or_path, const hutch::PluginSearch& search = only({})) {
  return error_of([&] { hutch::load_backend(name_or_path, search, context_for("under-test")); });
}

using hutch::test::TempDir;

// Copies test plugin `name` into `dir` as `file_name`; returns the copy's path.
std::string add_plugin(const TempDir& dir, const std::string& name, const std::string& file_name) {
  fs::copy_file(plugin_file(name), dir / file_name);
  return (dir / file_name).string();
}

using hutch::test::ScopedEnv;

// Whether the dynamic loader has `file` loaded right now (RTLD_NOLOAD never loads it).
bool is_loaded(const std::string& file) {
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  ::dlclose(handle);  // NOLOAD took a reference when it succeeded
  return true;
}

// --- find_plugin -------------------------------------------------------------------------------

TEST(FindPlugin, APathIsUsedAsGiven) {
  EXPECT_EQ(hutch::find_plugin(plugin_file("minimal"), only({})), fs::path(plugin_file("minimal")));
}

TEST(FindPlugin, ARelativePathIsMadeAbsolute) {
  const fs::path relative = fs::relative(plugin_file("minimal"));
  ASSERT_TRUE(relative.is_relative());
  EXPECT_EQ(hutch::find_plugin(relative.string(), only({})), fs::path(plugin_file("minimal")));
}

TEST(FindPlugin, AMissingFileGivenByPathIsNotFound) {
  auto error = error_of([] { hutch::find_plugin("/nonexistent/hutch-x.so", only({})); });
  EXPECT_EQ(error.code(), hutch::Errc::plugin);
  EXPECT_STREQ(error.what(),
               "plugin '/nonexistent/hutch-x.so' not found (no such file: /nonexistent/hutch-x.so)");
}

TEST(FindPlugin, ANameIsLookedUpAsHutchNameDotSo) {
  EXPECT_EQ(hutch::find_plugin("minimal", only({kPluginDir.string()})), fs::path(plugin_file("minimal")));
}

TEST(FindPlugin, ConfiguredPathsAreSearchedInOrder) {
  TempDir first, second;
  const std::string in_first = add_plugin(first, "minimal", "hutch-twice.so");
  const std::string in_second = add_plugin(second, "minimal", "hutch-twice.so");
  EXPECT_EQ(hutch::find_plugin("twice", only({first.path(), second.path()})), fs::path(in_first));
  EXPECT_EQ(hutch::find_plugin("twice", only({second.path(), first.path()})), fs::path(in_second));
}

TEST(FindPlugin, EnvPathIsSearchedAfterConfiguredPaths) {
  TempDir configured, from_env_a, from_env_b;
  const std::string in_configured = add_plugin(configured, "minimal", "hutch-twice.so");
  const std::string in_env_b = add_plugin(from_env_b, "minimal", "hutch-twice.so");
  ScopedEnv env("HUTCH_PLUGIN_PATH", from_env_a.path().string() + "::" + from_env_b.path().string());

  hutch::PluginSearch search = only({configured.path()});
  search.use_env = true;
  EXPECT_EQ(hutch::find_plugin("twice", search), fs::path(in_configured));
  search.paths.clear();
  EXPECT_EQ(hutch::find_plugin("twice", search), fs::path(in_env_b));
  search.use_env = false;
  EXPECT_EQ(error_of([&] { hutch::find_plugin("twice", search); }).code(), hutch::Errc::plugin);
}

TEST(FindPlugin, NotFoundListsEveryDirectorySearchedInOrder) {
  ScopedEnv env("HUTCH_PLUGIN_PATH", "/env/one::/env/two");
  hutch::PluginSearch search;  // the defaults: also $HUTCH_PLUGIN_PATH and the install directory
  search.paths = {"/conf/a", "/conf/b"};
  auto error = error_of([&] { hutch::find_plugin("nope", search); });
  EXPECT_EQ(error.code(), hutch::Errc::plugin);
  // Last come the install directory and, since this runs from a build tree, <build>/plugins.
  EXPECT_EQ(std::string(error.what()),
            "plugin 'nope' not found (searched: /conf/a, /conf/b, /env/one, /env/two, " +
                hutch::plugin_install_dir().string() + ", " + HUTCH_BUILD_DIR "/plugins)");
}

TEST(FindPlugin, NotFoundWithNoDirectoryToSearchSaysSo) {
  EXPECT_STREQ(error_of([] { hutch::find_plugin("nope", only({})); }).what(),
               "plugin 'nope' not found (searched: no directories)");
}

TEST(FindPlugin, InstallDirIsBesideLibhutchSoAnInstallCanMove) {
  EXPECT_EQ(hutch::plugin_install_dir(), std::filesystem::path(HUTCH_BUILD_DIR "/lib/hutch/plugins"));
}

// --- load_backend: each refusal, with its exact message -------------------------------------

TEST(LoadBackend, ATextFileIsRefusedWithTheDynamicLoadersMessage) {
  const std::string file = plugin_file("garbage");
  auto error = load_error(file);
  EXPECT_EQ(error.code(), hutch::Errc::plugin);
  EXPECT_EQ(std::string(error.what()), file + ": cannot load: invalid ELF header");
}

TEST(LoadBackend, AnUnresolvedSymbolFailsAtLoadTime) {
  const std::string file = plugin_file("unresolved");
  auto error = load_error(file);
  EXPECT_EQ(error.code(), hutch::Errc::plugin);
  EXPECT_EQ(std::string(error.what()),
            file + ": cannot load: undefined symbol: hutch_test_symbol_nobody_defines");
}

TEST(LoadBackend, NoVersionSymbolIsNotAHutchPlugin) {
  const std::string file = plugin_file("no-version");
  auto error = load_error(file);
  EXPECT_EQ(error.code(), hutch::Errc::plugin);
  EXPECT_EQ(std::string(error.what()),
            file + ": not a hutch plugin (symbol 'hutch_plugin_api_version' missing)");
}

TEST(LoadBackend, AWrongVersionIsRefusedWithBothNumbers) {
  const std::string file = plugin_file("wrong-version");
  auto error = load_error(file);
  EXPECT_EQ(error.code(), hutch::Errc::plugin);
  EXPECT_EQ(std::string(error.what()),
            file + ": wrong plugin API version: plugin has 999, hutch expects " +
                std::to_string(hutch::kPluginApiVersion) + " (rebuild the plugin against this hutch)");
}

TEST(LoadBackend, NoFactorySymbolIsNotAHutchPlugin) {
  const std::string file = plugin_file("no-factory");
  auto error = load_error(file);
  EXPECT_EQ(error.code(), hutch::Errc::plugin);
  EXPECT_EQ(std::string(error.what()),
            file + ": not a hutch plugin (symbol 'hutch_plugin_create' missing)");
}

TEST(LoadBackend, AFactoryThrowingAStdExceptionIsReportedWithItsMessage) {
  const std::string file = plugin_file("factory-throws");
  auto error = load_error(file);
  EXPECT_EQ(error.code(), hutch::Errc::plugin);
  EXPECT_EQ(std::string(error.what()), file + ": plugin factory threw: boom");
}

TEST(LoadBackend, AFactoryThrowingANonStdExceptionIsReported) {
  const std::string file = plugin_file("factory-throws-int");
  auto error = load_error(file);
  EXPECT_EQ(error.code(), hutch::Errc::plugin);
  EXPECT_EQ(std::string(error.what()),
            file + ": plugin factory threw an exception that is not a std::exception");
}

TEST(LoadBackend, AConfigErrorFromTheFactoryStaysAConfigError) {
  const std::string file = plugin_file("config-error");
  auto error = error_of(
      [&] { hutch::load_backend(file, only({}), context_for("config-error")); });
  EXPECT_EQ(error.code(), hutch::Errc::config);
  EXPECT_EQ(std::string(error.what()),
            file + ": backends.config-error.socket: expected a path, got nothing");
}

TEST(LoadBackend, AFactoryReturningNullIsRefused) {
  const std::string file = plugin_file("null-factory");
  auto error = load_error(file);
  EXPECT_EQ(error.code(), hutch::Errc::plugin);
  EXPECT_EQ(std::string(error.what()), file + ": plugin factory returned no backend");
}

TEST(LoadBackend, ByNameTheMessageNamesTheFileFound) {
  auto error = load_error("factory-throws", only({kPluginDir.string()}));
  EXPECT_EQ(std::string(error.what()), plugin_file("factory-throws") + ": plugin factory threw: boom");
}

TEST(LoadBackend, AWorkingPluginGivesItsBackend) {
  auto backend = hutch::load_backend("template", only({kPluginDir.string()}), context_for("template"));
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->name(), "template");
  auto handle = backend->create(hutch::SandboxSpec{});
  handle->fs().write("/tmp/file", "content");
  EXPECT_EQ(backend->resume(handle->id())->fs().read("/tmp/file"), "content");
  handle->destroy();
}

// --- open_backend ------------------------------------------------------------------------------

TEST(OpenBackend, UsesConfiguredPathsAndTheBackendsTable) {
  hutch::Config config = hutch::parse_config(
      "[plugins]\npaths = [\"" + kPluginDir.string() + "\"]\n"
      "[backends.template]\nmax_sandboxes = 1\n",
      "test.toml");
  auto backend = hutch::open_backend(config, "template", nullptr);
  EXPECT_EQ(backend->name(), "template");
  auto first = backend->create(hutch::SandboxSpec{});
  // The limit from [backends.template] reached the plugin.
  auto error = error_of([&] { backend->create(hutch::SandboxSpec{}); });
  EXPECT_EQ(error.code(), hutch::Errc::backend);
  EXPECT_NE(std::string(error.what()).find("max_sandboxes"), std::string::npos) << error.what();
  first->destroy();
}

TEST(OpenBackend, APathIsLoadedAsTheBackendNamedByItsFile) {
  TempDir dir;
  const std::string file = add_plugin(dir, "template", "hutch-renamed.so");
  hutch::Config config = hutch::parse_config("[backends.renamed]\nmisspelt_key = 1\n", "test.toml");
  // The table of the name derived from the file ("renamed") was handed over: its unknown key
  // is refused by the plugin as a config error, prefixed with the plugin file.
  auto error = error_of([&] { hutch::open_backend(config, file, hutch::logger()); });
  EXPECT_EQ(error.code(), hutch::Errc::config);
  EXPECT_TRUE(std::string(error.what()).starts_with(file + ": test.toml:2:")) << error.what();
  EXPECT_NE(std::string(error.what()).find("misspelt_key"), std::string::npos) << error.what();

  auto backend = hutch::open_backend(hutch::Config{}, file, nullptr);
  EXPECT_EQ(backend->name(), "renamed");
}

// --- lifetime: the library stays loaded while anything from it lives -----------------------

TEST(PluginLifetime, HandleFsAndProcessKeepTheLibraryLoadedAfterTheBackendIsDropped) {
  TempDir dir;  // a private copy, so no other test's load of hutch-minimal.so interferes
  const std::string file = add_plugin(dir, "minimal", "hutch-minimal.so");
  auto search = only({});
  search.unload_when_unused = true;

  auto backend = hutch::load_backend(file, search, context_for("minimal"));
  auto handle = backend->create(hutch::SandboxSpec{});
  hutch::Fs& files = handle->fs();
  auto process = handle->spawn(command({"echo", "still", "here"}));
  ASSERT_TRUE(is_loaded(file));

  backend.reset();
  ASSERT_TRUE(is_loaded(file)) << "the handle must keep the plugin loaded";
  EXPECT_EQ(handle->exec(command({"echo", "hi"})).stdout_data, "hi\n");
  files.write("/tmp/kept", "alive");
  EXPECT_EQ(files.read("/tmp/kept"), "alive");

  handle.reset();
  ASSERT_TRUE(is_loaded(file)) << "the process must keep the plugin loaded";
  auto chunk = process->read_output();
  ASSERT_TRUE(chunk.has_value());
  EXPECT_EQ(chunk->data, "still here\n");
  EXPECT_EQ(process->wait().exit_code, 0);

  process.reset();
  // Proves the checks above could fail: with the last object gone the library is unloaded.
  EXPECT_FALSE(is_loaded(file));
}

TEST(PluginLifetime, ResumedHandlesPinTheLibraryToo) {
  TempDir dir;
  const std::string file = add_plugin(dir, "template", "hutch-template.so");
  auto search = only({});
  search.unload_when_unused = true;

  auto backend = hutch::load_backend(file, search, context_for("template"));
  auto created = backend->create(hutch::SandboxSpec{});
  created->fs().write("/tmp/note", "kept");
  auto resumed = backend->resume(created->id());
  created.reset();
  backend.reset();
  ASSERT_TRUE(is_loaded(file));
  EXPECT_EQ(resumed->fs().read("/tmp/note"), "kept");
  EXPECT_EQ(resumed->info().backend, "template");

  resumed.reset();
  EXPECT_FALSE(is_loaded(file));
}

TEST(PluginLifetime, ForksAndForkFactoriesPinTheLibraryToo) {
  TempDir dir;
  const std::string file = add_plugin(dir, "minimal", "hutch-minimal.so");
  auto search = only({});
  search.unload_when_unused = true;

  auto backend = hutch::load_backend(file, search, context_for("minimal"));
  auto original = backend->create(hutch::SandboxSpec{});
  original->fs().write("/tmp/inherited", "from the original");
  auto forked = original->fork();
  auto factory = original->fork_factory();
  ASSERT_NE(factory, nullptr);
  auto forked_by_factory = factory->fork(*original);
  backend.reset();
  original.reset();

  ASSERT_TRUE(is_loaded(file));
  EXPECT_EQ(forked->fs().read("/tmp/inherited"), "from the original");
  forked.reset();
  ASSERT_TRUE(is_loaded(file)) << "the fork made by the factory must keep the plugin loaded";
  EXPECT_EQ(forked_by_factory->fs().read("/tmp/inherited"), "from the original");
  forked_by_factory.reset();
  ASSERT_TRUE(is_loaded(file)) << "the fork factory must keep the plugin loaded";
  factory.reset();
  EXPECT_FALSE(is_loaded(file));
}

TEST(PluginLifetime, ByDefaultAPluginStaysLoadedForGood) {
  TempDir dir;
  const std::string file = add_plugin(dir, "minimal", "hutch-minimal.so");
  auto backend = hutch::load_backend(file, only({}), context_for("minimal"));
  backend->create(hutch::SandboxSpec{})->exec(command({"echo"}));
  backend.reset();
  EXPECT_TRUE(is_loaded(file));
}

TEST(PluginLifetime, ARefusedPluginIsNotLeftLoadedWhenUnloadingIsAllowed) {
  TempDir dir;
  const std::string file = add_plugin(dir, "factory-throws", "hutch-factory-throws.so");
  auto search = only({});
  search.unload_when_unused = true;
  EXPECT_EQ(load_error(file, search).code(), hutch::Errc::plugin);
  EXPECT_FALSE(is_loaded(file));
}

}  // namespace
