#include <hutch/error.hpp>
#include <hutch/types.hpp>

#include <string>

namespace hutch {

const char* to_string(NetworkMode mode) noexcept {
  switch (mode) {
    case NetworkMode::none: return "none";
    case NetworkMode::host: return "host";
    case NetworkMode::bridge: return "bridge";
  }
  return "none";
}

const char* to_string(MountType type) noexcept {
  switch (type) {
    case MountType::volume: return "volume";
    case MountType::bind: return "bind";
    case MountType::tmpfs: return "tmpfs";
    case MountType::assets: return "assets";
    case MountType::pointer: return "pointer";
    case MountType::backup: return "backup";
  }
  return "volume";
}

const char* to_string(SandboxState state) noexcept {
  switch (state) {
    case SandboxState::creating: return "creating";
    case SandboxState::running: return "running";
    case SandboxState::paused: return "paused";
    case SandboxState::stopped: return "stopped";
    case SandboxState::expired: return "expired";
    case SandboxState::unknown: return "unknown";
  }
  return "unknown";
}

const char* to_string(MainCommandState state) noexcept {
  switch (state) {
    case MainCommandState::running: return "running";
    case MainCommandState::exited: return "exited";
    case MainCommandState::killed: return "killed";
  }
  return "unknown";
}

NetworkMode parse_network_mode(const std::string& text) {
  for (auto mode : {NetworkMode::none, NetworkMode::host, NetworkMode::bridge})
    if (text == to_string(mode)) return mode;
  throw Error(Errc::invalid_argument,
              "network mode '" + text + "' is not one of: none, host, bridge");
}

const char* to_string(EgressAction action) noexcept { return action == EgressAction::allow ? "allow" : "deny"; }

EgressAction parse_egress_action(const std::string& text) {
  for (auto action : {EgressAction::allow, EgressAction::deny})
    if (text == to_string(action)) return action;
  throw Error(Errc::invalid_argument, "egress action '" + text + "' is not one of: allow, deny");
}

MountType parse_mount_type(const std::string& text) {
  for (auto type : {MountType::volume, MountType::bind, MountType::tmpfs, MountType::assets,
                    MountType::pointer, MountType::backup})
    if (text == to_string(type)) return type;
  throw Error(Errc::invalid_argument, "mount type '" + text +
                                          "' is not one of: volume, bind, tmpfs, assets, "
                                          "pointer, backup");
}

const char* to_string(PortProtocol protocol) noexcept { return protocol == PortProtocol::udp ? "udp" : "tcp"; }

PortProtocol parse_port_protocol(const std::string& text) {
  for (auto protocol : {PortProtocol::tcp, PortProtocol::udp})
    if (text == to_string(protocol)) return protocol;
  throw Error(Errc::invalid_argument, "protocol '" + text + "' is not one of: tcp, udp");
}

std::string describe(const Capabilities& capabilities) {
  std::string text;
  auto add = [&](bool has, const char* name) {
    if (!has) return;
    if (!text.empty()) text += ' ';
    text += name;
  };
  add(capabilities.fork, "fork");
  add(capabilities.snapshot, "snapshot");
  add(capabilities.pause, "pause");
  add(capabilities.stdin, "stdin");
  add(capabilities.ports, "ports");
  add(capabilities.tty, "tty");
  add(capabilities.stats, "stats");
  add(capabilities.persistent, "persistent");
  add(capabilities.launch, "launch");
  add(capabilities.set_env, "set_env");
  add(capabilities.volumes, "volumes");
  add(capabilities.stop, "stop");
  add(capabilities.lifetimes, "lifetimes");
  add(capabilities.set_egress, "set_egress");
  text += text.empty() ? "network:" : "; network:";
  for (NetworkMode mode : capabilities.network_modes) text += std::string(" ") + to_string(mode);
  text += "; mounts:";
  if (capabilities.mount_types.empty()) text += " none";
  for (MountType type : capabilities.mount_types) text += std::string(" ") + to_string(type);
  return text;
}

}  // namespace hutch
