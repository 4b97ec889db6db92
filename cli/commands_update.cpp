// `hutch update ID [--ttl DUR] [--idle-timeout DUR] [-e K=V] [-e K-]... [--allow-net CIDR|DOMAIN]
// [--deny-net CIDR|DOMAIN|all]... [--clear-net]`: changes a sandbox for what follows — its lifetimes
// from now on (Handle::set_lifetime, issue 13), the environment of its later commands
// (Handle::set_env, TanStack's env.set) and its egress rules, which the given ones replace
// whole (Handle::set_egress, issue 19; --clear-net: none, the default policy). Every option is
// parsed and every needed capability checked before the sandbox is changed, so a bad option
// changes nothing.
#include "command.hpp"
#include "create_options.hpp"
#include "sandbox_lookup.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>
#include <hutch/handle.hpp>
#include <hutch/spec.hpp>
#include <hutch/units.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hutch::cli {

namespace {

struct UpdateOptions {
  std::string id;
  std::optional<std::string> ttl;
  std::optional<std::string> idle_timeout;
  std::vector<std::string> env;  // "K=V" sets, "K-" unsets
  std::vector<EgressRule> egress;  // --allow-net / --deny-net, in order
  bool clear_net = false;
};

// A duration option's value, its errors naming the option.
std::optional<Duration> duration_of(const char* option, const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  try {
    Duration value = parse_duration(*text);
    if (value.count() <= 0) throw Error(Errc::invalid_argument, "expected a duration greater than zero, got " + *text);
    return value;
  } catch (const Error& error) {
    throw Error(error.code(), std::string(option) + ": " + error.what());
  }
}

// "K=V" -> set, "K-" -> unset; anything else is Errc::invalid_argument naming the option.
void parse_env_change(const std::string& entry, Env& set, std::vector<std::string>& unset) {
  if (entry.find('=') == std::string::npos && entry.size() > 1 && entry.back() == '-') {
    unset.push_back(entry.substr(0, entry.size() - 1));
    return;
  }
  if (entry.find('=') == std::string::npos)
    throw Error(Errc::invalid_argument, "-e '" + entry + "': expected KEY=VALUE to set or KEY- to unset");
  auto [key, value] = parse_key_value(entry, "-e");
  set[key] = value;
}

int update(Session& session, const UpdateOptions& options) {
  LifetimeUpdate lifetime{duration_of("--ttl", options.ttl), duration_of("--idle-timeout", options.idle_timeout)};
  Env set;
  std::vector<std::string> unset;
  for (const auto& entry : options.env) parse_env_change(entry, set, unset);
  if (options.clear_net && !options.egress.empty())
    throw Error(Errc::invalid_argument, "update " + options.id + ": --clear-net removes every egress rule; it cannot be "
                                        "combined with --allow-net or --deny-net (which replace them too)");
  check_egress_options(options.egress);
  const bool lifetimes = lifetime.ttl || lifetime.idle_timeout;
  const bool env = !set.empty() || !unset.empty();
  const bool egress = options.clear_net || !options.egress.empty();
  if (!lifetimes && !env && !egress)
    throw Error(Errc::invalid_argument, "update " + options.id +
                                            ": nothing to change; give --ttl DUR, --idle-timeout DUR, -e KEY=VALUE, -e KEY-, "
                                            "--allow-net CIDR|DOMAIN, --deny-net CIDR|DOMAIN|all or --clear-net");
  constexpr const char* kEnvVerb = "update -e (set_env)";
  constexpr const char* kEgressVerb = "update --allow-net/--deny-net/--clear-net (set_egress)";
  OwnedSandbox sandbox = lifetimes ? find_sandbox_with(session, options.id, &Capabilities::stop, "update --ttl/--idle-timeout")
                         : env     ? find_sandbox_with(session, options.id, &Capabilities::set_env, kEnvVerb)
                                   : find_sandbox_with(session, options.id, &Capabilities::set_egress, kEgressVerb);
  const Capabilities caps = sandbox.backend->capabilities();
  if (env && !caps.set_env) throw_unsupported(sandbox.backend->name(), kEnvVerb);
  if (egress && !caps.set_egress) throw_unsupported(sandbox.backend->name(), kEgressVerb);
  // The rules first: they are checked against the sandbox's network, and a refusal there
  // leaves the rest unchanged.
  if (egress) sandbox.handle->set_egress(options.egress);
  if (env) sandbox.handle->set_env(set, unset);
  if (lifetimes) sandbox.handle->set_lifetime(lifetime);
  return 0;
}

}  // namespace

void register_update_command(CLI::App& app, Session& session, CommandTable& table) {
  auto options = std::make_shared<UpdateOptions>();
  CLI::App* command = app.add_subcommand("update", "change a sandbox's lifetimes from now on, the environment of its later commands, or its egress rules");
  add_id_argument(*command, options->id);
  command->add_option("--ttl", options->ttl, "the sandbox ends this long from now, e.g. 30m");
  command->add_option("--idle-timeout", options->idle_timeout, "it ends once idle this long");
  command
      ->add_option("-e,--env", options->env,
                   "KEY=VALUE sets, KEY- unsets a variable of later commands (repeatable)")
      ->allow_extra_args(false);
  add_egress_options(*command, options->egress);
  command->add_flag("--clear-net", options->clear_net,
                    "remove every egress rule: the default policy alone (--allow-net/--deny-net replace the rules too)");
  table.add(command, [&session, options] { return update(session, *options); });
}

}  // namespace hutch::cli
