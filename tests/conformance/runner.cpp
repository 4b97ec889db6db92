// hutch-conformance: runs the backend conformance suite against one plugin.
//
//   hutch-conformance --plugin PATH|NAME [--config FILE] [--image IMG] [--commands posix|fake]
//                   [--log-level LEVEL] [gtest flags...]
// ($HUTCH_CONFORMANCE_IMAGE and $HUTCH_CONFORMANCE_COMMANDS give defaults for --image/--commands.)
//
// Every argument it does not know is handed to GoogleTest (--gtest_filter=..., ...).
#include "commands.hpp"
#include "fixture.hpp"
#include "target.hpp"

#include <hutch/hutch.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct RunnerOptions {
  std::string plugin;
  std::optional<std::string> config;
  std::string image;
  std::string commands = "posix";
  std::optional<std::string> log_level;
  bool help = false;
};

constexpr std::string_view kUsage =
    "usage: hutch-conformance --plugin PATH|NAME [options] [gtest flags]\n"
    "  --plugin PATH|NAME     the backend plugin to test (a .so path or a backend name)\n"
    "  --config FILE          hutch.toml to read (state_dir, [plugins], [backends.<name>]);\n"
    "                         default: built-in defaults, no file is searched\n"
    "  --image IMG            image for the test sandboxes; default: $HUTCH_CONFORMANCE_IMAGE,\n"
    "                         else the backend's default\n"
    "  --commands posix|fake  command vocabulary: posix (sh, echo, cat, sleep, ...) or fake\n"
    "                         (the fake test backend's built-ins); default:\n"
    "                         $HUTCH_CONFORMANCE_COMMANDS, else posix\n"
    "  --log-level LEVEL      hutch log level (trace ... off)\n";

// Takes our options out of argv and leaves the rest (program name first) for GoogleTest.
RunnerOptions parse_options(int argc, char** argv, std::vector<char*>& rest) {
  RunnerOptions options;
  if (const char* image = std::getenv("HUTCH_CONFORMANCE_IMAGE")) options.image = image;
  if (const char* commands = std::getenv("HUTCH_CONFORMANCE_COMMANDS")) options.commands = commands;
  rest.push_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto take = [&](std::string_view flag, auto& into) {
      if (arg == flag) {
        if (i + 1 >= argc)
          throw hutch::Error(hutch::Errc::invalid_argument, std::string(flag) + " needs a value");
        into = argv[++i];
        return true;
      }
      if (arg.size() > flag.size() && arg.substr(0, flag.size()) == flag &&
          arg[flag.size()] == '=') {
        into = std::string(arg.substr(flag.size() + 1));
        return true;
      }
      return false;
    };
    if (take("--plugin", options.plugin) || take("--config", options.config) ||
        take("--image", options.image) || take("--commands", options.commands) ||
        take("--log-level", options.log_level))
      continue;
    if (arg == "--help" || arg == "-h") options.help = true;
    rest.push_back(argv[i]);
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  RunnerOptions options;
  try {
    options = parse_options(argc, argv, rest);
    if (options.help) {
      std::cout << kUsage << "\nGoogleTest flags:\n";
    } else {
      if (options.plugin.empty())
        throw hutch::Error(hutch::Errc::invalid_argument, "--plugin is required (see --help)");
      if (options.log_level) hutch::set_log_level(*options.log_level);
      hutch::Config config = options.config ? hutch::load_config_file(*options.config) : hutch::Config{};
      auto backend = hutch::open_backend(config, options.plugin, hutch::logger());
      auto commands = hutch::conformance::Commands::parse(options.commands);
      std::cerr << "hutch-conformance: backend '" << backend->name() << "' ("
                << options.plugin << "), image '"
                << (options.image.empty() ? "<backend default>" : options.image)
                << "', commands " << options.commands
                << ", capabilities: " << hutch::describe(backend->capabilities()) << "\n";
      try {
        if (auto removed = hutch::conformance::prune_crashed_runs(*backend); !removed.empty())
          std::cerr << "hutch-conformance: pruned " << removed.size()
                    << " sandbox(es) of earlier runs whose process is gone\n";
      } catch (const std::exception& e) {
        // The prune tests say what is wrong with prune; the rest can still run.
        std::cerr << "hutch-conformance: pruning what earlier runs left failed: " << e.what() << "\n";
      }
      hutch::conformance::register_target({backend, options.image, commands});
    }
  } catch (const std::exception& e) {
    std::cerr << "hutch-conformance: " << e.what() << "\n";
    return 2;
  }
  int gtest_argc = static_cast<int>(rest.size());
  ::testing::InitGoogleTest(&gtest_argc, rest.data());
  return RUN_ALL_TESTS();
}
