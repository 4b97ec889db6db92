// An image's defaults as `docker run` applies them (see <hutch/image_defaults.hpp>).
#include <hutch/image_defaults.hpp>

#include <hutch/error.hpp>

namespace hutch {

ImageDefaults resolve_defaults(ImageDefaults image, const SandboxSpec& spec) {
  if (spec.entrypoint) {
    image.entrypoint = *spec.entrypoint;
    image.cmd.clear();
  }
  for (const auto& [key, value] : spec.env) image.env[key] = value;
  if (!spec.workdir.empty()) image.workdir = spec.workdir;
  if (!spec.user.empty()) image.user = spec.user;
  return image;
}

std::vector<std::string> command_argv(const ExecRequest& request, const ImageDefaults& defaults,
                                      const std::string& sandbox_id) {
  if (!request.use_entrypoint) return request.argv;
  std::vector<std::string> argv = defaults.entrypoint;
  const auto& rest = request.argv.empty() ? defaults.cmd : request.argv;
  argv.insert(argv.end(), rest.begin(), rest.end());
  if (argv.empty() || argv.front().empty())
    throw Error(Errc::invalid_argument, "sandbox " + sandbox_id +
                                            ": no command given and its image has no Entrypoint or Cmd; give the "
                                            "command to run (or --entrypoint)");
  return argv;
}

Env env_from_entries(const std::vector<std::string>& entries) {
  Env env;
  for (const auto& entry : entries) {
    auto equals = entry.find('=');
    if (equals != std::string::npos && equals > 0) env[entry.substr(0, equals)] = entry.substr(equals + 1);
  }
  return env;
}

}  // namespace hutch
