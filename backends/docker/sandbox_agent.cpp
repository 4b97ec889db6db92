#include "sandbox_agent.hpp"

#include "agent/capability_names.hpp"
#include "agent/control_client.hpp"
#include "agent/exec_process.hpp"
#include "agent/unique_fd.hpp"
#include "containers.hpp"
#include "sandbox_dir.hpp"

#include <hutch/error.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace hutch::docker {
namespace {

// Connects once to see that the agent listens (the connection is dropped at once, which the
// agent answers as a malformed request).
bool agent_listening(const std::filesystem::path& dir) {
  return static_cast<bool>(agent::connect_socket_file(dir / kAgentSocketName));
}

std::string container_status(Context& context, const std::string& id) {
  try {
    auto inspect = inspect_container(context, id);
    return std::string(inspect.at("State").as_object().at("Status").as_string());
  } catch (const Error& e) {
    return std::string("unknown (") + e.what() + ")";
  }
}

}  // namespace

const std::vector<std::string> kAgentCapabilities = {"SETUID", "SETGID", "SETPCAP", "KILL"};

std::optional<std::filesystem::path> choose_agent_binary(const DockerConfig& config, const Endpoint& endpoint) {
  if (config.agent == AgentMode::off) return std::nullopt;
  bool local = endpoint.kind == Endpoint::Kind::unix_socket;
  if (!local) {
    if (config.agent == AgentMode::on)
      throw Error(Errc::config, "[backends.docker] agent = \"on\" needs the daemon on a local unix socket; the endpoint is " +
                                    endpoint.to_string() + " (use \"auto\" or \"off\")");
    return std::nullopt;
  }
  std::filesystem::path binary =
      config.agent_binary ? std::filesystem::path(*config.agent_binary)
                          : std::filesystem::path(boost::dll::this_line_location().parent_path().string()) / "hutch-agent";
  if (::access(binary.c_str(), X_OK) != 0) {
    if (config.agent == AgentMode::on)
      throw Error(Errc::config, "[backends.docker] agent = \"on\" but the agent binary " + binary.string() +
                                    " is not executable (" + std::strerror(errno) + "); set agent_binary or build hutch-agent");
    return std::nullopt;
  }
  return binary;
}

std::vector<std::string> agent_entrypoint(const std::string& default_user, const std::vector<std::string>& cap_add,
                                          bool seccomp, Duration stop_grace, const agent::LifetimeSettings& lifetime) {
  std::string keep;
  for (const auto& name : cap_add) {
    std::vector<int> numbers;
    if (name == "ALL") {
      for (int cap = 0; cap < 64; ++cap) numbers.push_back(cap);
    } else if (auto number = agent::capability_from_name(name)) {
      numbers.push_back(*number);
    } else {
      throw Error(Errc::invalid_argument, "[backends.docker] cap_add: unknown capability '" + name + "'");
    }
    for (int number : numbers) keep += (keep.empty() ? "" : ",") + std::to_string(number);
  }
  std::vector<std::string> command{kAgentInContainer, "serve", std::string(kAgentRunDirInContainer) + "/" + kAgentSocketName};
  if (!default_user.empty()) command.insert(command.end(), {"--user", default_user});
  if (!keep.empty()) command.insert(command.end(), {"--keep-caps", keep});
  if (seccomp) command.insert(command.end(), {"--seccomp", "1"});
  command.insert(command.end(), {"--stop-grace", std::to_string(stop_grace.count())});
  if (lifetime.ttl_deadline_ms != 0) command.insert(command.end(), {"--ttl-deadline", std::to_string(lifetime.ttl_deadline_ms)});
  if (lifetime.idle_timeout_ms != 0) command.insert(command.end(), {"--idle-timeout", std::to_string(lifetime.idle_timeout_ms)});
  command.insert(command.end(), {"--expiry-file", std::string(kAgentRunDirInContainer) + "/" + kAgentExpiryName});
  return command;
}

void wait_for_agent(Context& context, const std::string& id, const std::filesystem::path& dir) {
  auto give_up = Clock::now() + context.client->request_timeout();
  auto pause = std::chrono::microseconds(500);
  for (int round = 1;; ++round) {
    if (agent_listening(dir)) return;
    // An agent that cannot start ends the container: say so instead of waiting it out. One
    // that ended it because its ttl had already passed (a ttl shorter than the start) leaves
    // an expired sandbox, as on every backend.
    if (round % 50 == 0) {
      std::string status = container_status(context, id);
      if (status != "running" && expiry_in_run_dir(dir)) return;
      if (status != "running")
        throw Error(Errc::backend, "sandbox " + id + ": its agent did not start (the container is " + status +
                                       "; see `docker logs " + id + "`)");
    }
    if (Clock::now() > give_up)
      throw Error(Errc::timeout, "sandbox " + id + ": its agent does not listen on " + (dir / kAgentSocketName).string());
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10000));
  }
}

void check_agent_user(Context& context, const std::string& id, const std::filesystem::path& dir,
                      const std::string& user) {
  agent::wire::ExecMessage message;
  message.argv = {kAgentInContainer, "noop"};
  message.user = user;
  ExecRequest request;
  request.stdin_data = std::string();
  request.timeout = context.client->request_timeout();
  auto result = agent::ExecProcess::start(dir / kAgentSocketName, id, message, request)->wait();
  if (result.shell_status() != 0) {
    std::string why = result.stderr_data.empty() ? "status " + std::to_string(result.shell_status()) : result.stderr_data;
    while (!why.empty() && why.back() == '\n') why.pop_back();
    throw Error(Errc::invalid_argument, "sandbox " + id + ": cannot run commands as user '" + user + "': " + why);
  }
}

}  // namespace hutch::docker
