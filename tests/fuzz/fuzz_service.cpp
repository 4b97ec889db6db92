#include "fuzz_service.hpp"

#include "sandbox_creation.hpp"

#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <unistd.h>

namespace hutch::fuzz {

namespace {

std::filesystem::path& state_dir() {
  static std::filesystem::path dir;
  return dir;
}

void remove_state_dir() {
  std::error_code ignored;
  if (!state_dir().empty()) std::filesystem::remove_all(state_dir(), ignored);
}

server::Service& make_service() {
  std::string pattern = (std::filesystem::temp_directory_path() / "hutch-fuzz-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw Error(Errc::io, "cannot make a temporary directory for the fuzz target");
  state_dir() = pattern;
  std::atexit(remove_state_dir);
  logger()->set_level(spdlog::level::off);
  Config config;
  config.backend = HUTCH_FUZZ_FAKE_PLUGIN;
  config.state_dir = pattern;
  config.exec_timeout = std::chrono::seconds(2);
  // Never destroyed: the fuzzer ends the process with exit(), while the service's threads run.
  static server::Service* made = new server::Service(config, server::Tokens{});
  // Sandboxes the inputs create are never removed by them: a cap keeps a long run's memory
  // bounded (and the caps' code in the fuzzed paths).
  server::CapOptions caps;
  caps.max_sandboxes = 8;
  made->set_caps(caps);
  return *made;
}

std::mutex sandbox_mutex;
std::string current_sandbox;

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

}  // namespace

server::Service& service() {
  static server::Service& made = make_service();
  return made;
}

std::string sandbox_id() {
  std::lock_guard lock(sandbox_mutex);
  const server::Caller operator_caller{"local", std::nullopt};
  if (!current_sandbox.empty()) {
    try {
      service().find(operator_caller, current_sandbox);
      return current_sandbox;
    } catch (const Error&) {
    }
  }
  try {
    current_sandbox = server::create_sandbox_for(service(), operator_caller, server::CreateRequest{}).handle->id();
  } catch (const Error& error) {
    if (error.code() != Errc::rate_limited) throw;
    // The inputs filled the sandbox cap: their sandboxes go, the one the seeds name is made again.
    for (const SandboxInfo& info : service().list(operator_caller, Filter{})) {
      try {
        service().remove(service().find(operator_caller, info.id));
      } catch (const Error&) {
        // Gone meanwhile.
      }
    }
    current_sandbox = server::create_sandbox_for(service(), operator_caller, server::CreateRequest{}).handle->id();
  }
  return current_sandbox;
}

std::string prepare_input(std::string input) {
  if (input.find("@ID") != std::string::npos) replace_all(input, "@ID", sandbox_id());
  for (const char* blocking : {"sleep", "on-term", "ignore-term", "yes-flood"}) replace_all(input, blocking, "echo");
  return input;
}

}  // namespace hutch::fuzz
