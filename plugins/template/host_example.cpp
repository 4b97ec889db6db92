// A host program: loads a backend plugin by path and prints what it can do. With --create it
// also makes a sandbox, writes and reads back a file through its Fs, and destroys it.
//
//   host_example /path/to/hutch-template.so [--create]
#include <hutch/hutch.hpp>

#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>

namespace {

const char* yes_no(bool value) { return value ? "yes" : "no"; }

void print_capabilities(const hutch::SandboxBackend& backend) {
  const hutch::Capabilities caps = backend.capabilities();
  std::cout << "backend: " << backend.name() << "\n"
            << "capabilities: fork=" << yes_no(caps.fork) << " snapshot=" << yes_no(caps.snapshot)
            << " pause=" << yes_no(caps.pause) << " stdin=" << yes_no(caps.stdin)
            << " ports=" << yes_no(caps.ports) << " tty=" << yes_no(caps.tty)
            << " stats=" << yes_no(caps.stats) << " persistent=" << yes_no(caps.persistent)
            << " connect_port=" << yes_no(caps.connect_port) << "\n"
            << "network modes:";
  for (auto mode : caps.network_modes) std::cout << " " << hutch::to_string(mode);
  std::cout << "\n";
}

void round_trip_a_file(hutch::SandboxBackend& backend) {
  hutch::ScopedSandbox sandbox(backend, hutch::SandboxSpec{});
  const std::string text = "hello from the host example\n";
  sandbox->fs().write("/tmp/hello.txt", text);
  if (sandbox->fs().read("/tmp/hello.txt") != text)
    throw hutch::Error(hutch::Errc::io, "sandbox " + sandbox->id() + ": /tmp/hello.txt read back differs");
  std::cout << "sandbox " << sandbox->id() << ": wrote and read back /tmp/hello.txt\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && std::string(argv[2]) != "--create")) {
    std::cerr << "usage: " << argv[0] << " PLUGIN.so [--create]\n";
    return 2;
  }
  const std::string plugin = argv[1];
  try {
    // The name a plugin file is loaded as: "hutch-<name>.so" -> "<name>".
    std::string name = std::filesystem::path(plugin).stem().string();
    constexpr std::string_view kPrefix = "hutch-";
    if (name.starts_with(kPrefix)) name.erase(0, kPrefix.size());
    hutch::PluginContext context{name, hutch::ConfigTable{}, hutch::logger(), hutch::default_state_dir()};
    auto backend = hutch::load_backend(plugin, hutch::PluginSearch{}, context);
    print_capabilities(*backend);
    if (argc == 3) round_trip_a_file(*backend);
  } catch (const hutch::Error& error) {
    std::cerr << "host_example: " << error.what() << " [" << hutch::to_string(error.code()) << "]\n";
    return 1;
  }
  return 0;
}
